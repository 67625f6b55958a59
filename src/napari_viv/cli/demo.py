"""`napari-viv demo`: the synthetic tissue, exported and served to our viewer.

Without options: write the sample as a pyramidal OME-TIFF (+ offsets.json)
into a temporary folder, serve it with our viewer, print the links, open a browser
when there is one, and remove the folder on exit (Ctrl-C or SIGTERM).
With ``--napari``: open napari with the sample fitted to the canvas and the
*Export to Viv* panel docked; Ctrl-C or SIGTERM closes it (exit code 0).
With ``--publish DEST``: publish the sample to a folder or an object store
instead of serving it (``napari-viv publish``'s options apply), print the
links and exit.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from .common import add_subcommand, positive_int
from .serve import add_server_options, allowed_origins, print_links
from .signals import Stop

#: Set (to anything but "" or "0") to never launch a browser.
NO_BROWSER_ENV = "NAPARI_VIV_NO_BROWSER"
FILE_NAME = "synthetic_tissue.ome.tif"


def add_parser(subparsers) -> None:
    """Add ``demo`` to the dispatcher's subcommands."""
    p = add_subcommand(
        subparsers,
        "demo",
        help="export the synthetic sample and serve it to our viewer (or open it in napari)",
        description="Write the synthetic multiplexed tissue as a Viv pyramid into a "
        "temporary folder, serve it with our viewer and print the links; the folder is "
        "removed on exit.",
    )
    p.add_argument(
        "--size", type=positive_int, default=2048, metavar="N", help="image width and height in pixels (default 2048)"
    )
    p.add_argument("--channels", type=positive_int, default=6, metavar="C", help="number of channels (default 6)")
    add_server_options(p)
    p.add_argument("--no-browser", action="store_true", help=f"do not open a web browser (also: ${NO_BROWSER_ENV}=1)")
    p.add_argument(
        "--napari",
        action="store_true",
        help="open napari with the sample and the Export to Viv panel instead (Ctrl-C here closes it)",
    )
    p.add_argument(
        "--publish",
        default=None,
        metavar="DEST",
        help="publish the sample to a folder or s3://BUCKET/PREFIX instead of serving it, print the "
        "links and exit; the publish options below apply (see napari-viv publish --help)",
    )
    from .publish import add_publish_options

    add_publish_options(p)
    p.set_defaults(run=run)


def browser_available(environ=None, platform=None) -> bool:
    """Whether opening a local browser makes sense here.

    No when asked not to, inside SSH (the browser would open on the remote
    machine), or on Linux/BSD without a display.
    """
    from ..serve.links import in_ssh_session

    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if env.get(NO_BROWSER_ENV, "") not in ("", "0"):
        return False
    if in_ssh_session(env):
        return False
    if platform.startswith(("linux", "freebsd", "openbsd")):
        return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
    return True


def run(args) -> int:
    """Export the sample and serve it (or open it in napari) until Ctrl-C or SIGTERM."""
    if args.napari:
        return _run_napari(args)
    if args.publish:
        return _run_publish(args)
    from ..sample import synthetic_tissue
    from ..serve.server import RangeServer
    from ..write.writer import export_pyramid

    with Stop(twice=False) as stop, tempfile.TemporaryDirectory(prefix="napari-viv-demo-") as folder:
        path = Path(folder) / FILE_NAME
        print(
            f"Writing the synthetic tissue ({args.channels} x {args.size} x {args.size} uint16) to {path} ...",
            file=sys.stderr,
            flush=True,
        )
        data, meta = synthetic_tissue(args.size, args.channels)
        # Ctrl-C/SIGTERM while writing cancels; the folder is removed either way.
        written = export_pyramid(data, path, metadata=meta, cancel=stop.is_set)
        path = Path(written.image)
        server = RangeServer([path], host=args.host, port=args.port, allow_origins=allowed_origins(args))
        with server:
            link = print_links(server, path, args)
            if args.no_browser or not browser_available():
                print("(not opening a browser: copy the link above into one)", file=sys.stderr, flush=True)
            else:
                from ..serve.links import open_browser

                if not open_browser(link):
                    print("could not open a browser: copy the link above into one", file=sys.stderr, flush=True)
            stop.wait()
            requests, nbytes = server.stats
        print(
            f"stopped after {requests} requests, {nbytes / 1e6:.1f} MB sent; removing {folder}",
            file=sys.stderr,
            flush=True,
        )
    return 0


def _run_publish(args) -> int:
    """Write the sample into a temporary folder and publish it to ``args.publish``."""
    from ..sample import synthetic_tissue
    from ..write.writer import export_pyramid
    from .publish import options_from, publish_and_print

    options = options_from(args)
    with Stop(twice=False) as stop, tempfile.TemporaryDirectory(prefix="napari-viv-demo-") as folder:
        path = Path(folder) / FILE_NAME
        print(f"Writing the synthetic tissue to {path} ...", file=sys.stderr, flush=True)
        data, meta = synthetic_tissue(args.size, args.channels)
        written = export_pyramid(data, path, metadata=meta, cancel=stop.is_set)
        return publish_and_print([Path(written.image)], args.publish, options, cancel=stop.is_set)


def _run_napari(args) -> int:
    from ..errors import NapariVivError

    try:
        from .._napari.launch import launch_demo
    except ImportError as exc:  # napari or Qt missing
        raise NapariVivError(
            f"demo --napari needs napari ({exc}); install it with: pip install 'napari-viv[all]'"
        ) from None
    launch_demo(size=args.size, channels=args.channels)
    return 0
