"""How long napari-viv's reader takes to open an export in napari, against the floor.

The file is a LuCa-like 7 x 8192 x 8192 uint16 export (made once, in
benchmarks/data/, by make_luca_like.py and ``napari-viv convert``). Timed,
alternately, in one napari window:

* **reader**: ``viewer.open(path, plugin="napari-viv")``;
* **floor**: the least napari itself needs for the same layers: tifffile's
  Zarr store + ``zarr.open_group`` + one ``dask.array.from_zarr`` per level,
  then one multiscale ``viewer.add_image`` with ``channel_axis=0`` and the
  contrast limits given (so napari computes none).

Each run starts from an empty layer list and ends when the call returns
and Qt has processed the resulting events (the first draw included).
Run under a display (Xvfb is fine)::

    xvfb-run -a -s "-screen 0 1920x1080x24" python benchmarks/bench_reader.py --repeat 5

Prints one line per run, then the ratio reader / floor of the medians, of
the fastest runs and of the median CPU time of the process (the steadier
figures on a shared machine), and the load average; ``--json`` appends the figures to a file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def make_export(size: int) -> Path:
    """benchmarks/data/luca_<size>.ome.tif, written if missing."""
    tif = HERE / "data" / f"luca_{size}.ome.tif"
    if tif.exists():
        return tif
    from make_luca_like import make

    from napari_viv.sample import synthetic_tissue

    npy = HERE / "data" / f"luca_{size}.npy"
    if not npy.exists():
        make(npy, size)
    _, meta = synthetic_tissue(16, 7)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "napari_viv",
            "convert",
            "--no-progress",
            "--channel-names",
            ",".join(meta.channel_names),
            "--pixel-size",
            "0.5",
            "--unit",
            "um",
            str(npy),
            str(tif),
        ],
        check=True,
    )
    return tif


def floor_open(viewer, path: Path, names, limits) -> None:
    """Tifffile + zarr + dask, one multiscale add_image with limits given."""
    import dask.array as da
    import tifffile
    import zarr

    store = tifffile.imread(path, aszarr=True)
    group = zarr.open_group(store, mode="r")
    levels = [da.from_zarr(group[str(i)]) for i in range(len(group))]
    viewer.add_image(
        levels,
        multiscale=True,
        channel_axis=0,
        name=names,
        contrast_limits=limits,
        blending="additive",
    )


def settle(app) -> None:
    app.processEvents()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None, help="append results here")
    ap.add_argument("--profile", type=Path, default=None, help="write a cProfile of one reader run to this file")
    args = ap.parse_args(argv)

    path = make_export(args.size)
    import napari
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(show=True)
    app = QApplication.instance()
    settle(app)

    # what the floor is given: the names and limits the reader would find
    viewer.open(path, plugin="napari-viv")
    names = [layer.name for layer in viewer.layers]
    limits = [list(layer.contrast_limits) for layer in viewer.layers]
    viewer.layers.clear()
    settle(app)

    def run(which):
        viewer.layers.clear()
        settle(app)
        t0, c0 = time.perf_counter(), time.process_time()
        if which == "reader":
            viewer.open(path, plugin="napari-viv")
        else:
            floor_open(viewer, path, names, limits)
        settle(app)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert len(viewer.layers) == len(names), which
        cpu_times[which].append(cpu)
        return elapsed

    if args.profile:
        import cProfile

        viewer.layers.clear()
        settle(app)
        cProfile.runctx(
            "viewer.open(path, plugin='napari-viv'); settle(app)",
            globals(),
            {"viewer": viewer, "path": path, "settle": settle, "app": app},
            str(args.profile),
        )

    times = {"reader": [], "floor": []}
    cpu_times = {"reader": [], "floor": []}  # CPU seconds of this process (all threads)
    for i in range(args.repeat):
        for which in ("reader", "floor") if i % 2 == 0 else ("floor", "reader"):
            times[which].append(run(which))
        print(f"run {i + 1}: reader {times['reader'][-1]:.3f} s, floor {times['floor'][-1]:.3f} s", flush=True)
    reader = statistics.median(times["reader"])
    floor = statistics.median(times["floor"])
    best_r, best_f = min(times["reader"]), min(times["floor"])
    load = os.getloadavg()[0]
    print(f"median: reader {reader:.3f} s, floor {floor:.3f} s, ratio {reader / floor:.2f}")
    print(f"best:   reader {best_r:.3f} s, floor {best_f:.3f} s, ratio {best_r / best_f:.2f}")
    cpu_r, cpu_f = statistics.median(cpu_times["reader"]), statistics.median(cpu_times["floor"])
    print(f"CPU:    reader {cpu_r:.3f} s, floor {cpu_f:.3f} s, ratio {cpu_r / cpu_f:.2f} (medians)")
    print(f"load average (1 min) at the end: {load:.2f}")
    if args.json:
        record = {
            "file": path.name,
            "size": args.size,
            "repeat": args.repeat,
            "reader_s": times["reader"],
            "floor_s": times["floor"],
            "median_ratio": reader / floor,
            "best_ratio": best_r / best_f,
            "reader_cpu_s": cpu_times["reader"],
            "floor_cpu_s": cpu_times["floor"],
            "cpu_ratio": cpu_r / cpu_f,
            "load_average": load,
            "cpus": os.cpu_count(),
            "machine": platform.platform(),
            "python": platform.python_version(),
            "napari": napari.__version__,
        }
        with open(args.json, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
    viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
