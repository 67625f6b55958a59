"""Many files at once: ``napari-viv batch`` on this machine or a ``dask.distributed`` cluster.

``job``     one file's conversion (shared with ``convert``), the resume check,
            and the task a worker runs
``inputs``  INPUT items (files, folders, globs) -> the files to convert
``runner``  runs a batch locally (threads) or on a cluster, with progress,
            faults, Ctrl-C and the per-file results

``distributed`` is imported only when a scheduler is used (the ``batch`` extra).
"""
