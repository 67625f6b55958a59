"""`napari-viv serve FILE.ome.tif`: serve one exported file to our viewer (and Avivator).

Refuses a file that cannot be read (damaged or truncated). Prints the link
to our viewer on the same origin, then the Avivator link (plus an SSH
forwarding hint and browser caveats), then serves until Ctrl-C or SIGTERM
and exits 0 with the port released.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .common import add_subcommand
from .signals import Stop


def add_parser(subparsers) -> None:
    """Add ``serve`` to the dispatcher's subcommands."""
    p = add_subcommand(
        subparsers,
        "serve",
        help="serve an OME-TIFF (and its offsets.json) over HTTP to our viewer, or to Avivator",
        description="Serve FILE and its offsets.json over HTTP with Range and CORS, "
        "print the link to our viewer (no internet needed) and the Avivator link, and stop on Ctrl-C.",
    )
    p.add_argument("file", metavar="FILE.ome.tif", help="the pyramidal OME-TIFF (or OME-Zarr store) to serve")
    add_server_options(p)
    p.add_argument("--open", action="store_true", help="open our viewer in a web browser")
    p.set_defaults(run=run)


def add_server_options(p) -> None:
    """Options shared by `serve` and `demo`."""
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; anything else exposes the file to your network)",
    )
    p.add_argument(
        "--allow-origin",
        action="append",
        default=None,
        metavar="ORIGIN",
        help="a web origin allowed to read the file (repeatable; '*' for any). "
        "Always allowed: the public Avivator and --avivator-url",
    )
    p.add_argument(
        "--avivator-url",
        default=None,
        metavar="URL",
        help="a self-hosted Avivator to link to (default: $NAPARI_VIV_AVIVATOR_URL or the public one)",
    )


def check_servable(path: Path) -> list[str]:
    """Raise NapariVivError if ``path`` can't be served to a Viv viewer; return notes."""
    from .. import naming
    from ..errors import NapariVivError

    if not path.exists():
        raise NapariVivError("no such file", subject=path)
    from ..read.omezarr import is_zarr_store

    if is_zarr_store(path):
        return []  # an OME-Zarr store: viv_problems says what check finds
    if not path.is_file():
        raise NapariVivError("not a regular file", subject=path)
    if not naming.is_viv_name(path.name):
        raise NapariVivError(
            "Avivator only treats names ending in lowercase .ome.tif or "
            ".ome.tiff as OME-TIFF; rename it or convert it with 'napari-viv convert'",
            subject=path,
        )
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            ome = tif.is_ome
    except Exception as exc:  # noqa: BLE001 - tifffile raises several types for junk
        raise NapariVivError(f"not a readable TIFF ({exc})", subject=path) from None
    if not ome:
        raise NapariVivError(
            "has no OME-XML, so neither our viewer nor Avivator can open it; convert it with 'napari-viv convert'",
            subject=path,
        )
    notes = []
    side = naming.offsets_path(path)
    if not side.is_file():
        notes.append(
            f"note: no {side.name} beside the file; Avivator will work but open it "
            f"more slowly (create it with: napari-viv offsets {path})"
        )
    return notes


def viv_problems(path: Path) -> list[str]:
    """Return `napari-viv check`'s errors for ``path`` as warning lines (serving goes on).

    A file the check cannot read at all (damaged or truncated) raises its
    NapariVivError: there is nothing to serve.
    """
    from ..check.rules import check_file
    from ..errors import NapariVivError

    try:
        report = check_file(path)
    except NapariVivError:
        raise
    except Exception:  # noqa: BLE001 - a bug in the checker: it is advice; never let it stop serving
        return []
    return [
        f"warning: Avivator will probably fail: {f.message} (fix: {f.fix})"
        for f in report.findings
        if f.severity == "error"
    ]


def allowed_origins(args) -> list[str] | None:
    """Build the CORS allow-list from --allow-origin and --avivator-url."""
    from ..serve.links import avivator_origin
    from ..serve.server import AVIVATOR_ORIGIN, default_allowed_origins

    origins = default_allowed_origins()
    if args.avivator_url:
        origins.append(avivator_origin(args.avivator_url))
    origins += args.allow_origin or []
    if AVIVATOR_ORIGIN not in origins:  # pragma: no cover - defaults include it
        origins.insert(0, AVIVATOR_ORIGIN)
    return origins


def print_links(server, path: Path, args, out=sys.stdout) -> str:
    """Print the viewer link, the Avivator link, SSH hint and caveats; return the viewer link."""
    from ..serve.links import avivator_link, browser_caveats, ssh_hint
    from ..serve.server import is_loopback

    url = server.url_for(path)
    view = server.viewer_url_for(path)
    link = avivator_link(url, args.avivator_url)
    print(f"Serving {path}", file=out)
    print(f"View in your browser: {view}", file=out)
    print(f"  file URL: {url}", file=out)
    print(f"Or open it in Avivator (needs internet):\n  {link}", file=out)
    hint = ssh_hint(server.port, path.name, base=args.avivator_url)
    if hint is not None and is_loopback(server.host):
        print(hint.text(), file=out)
    if not is_loopback(server.host):
        print(
            f"warning: listening on {server.host}: anyone who can reach this "
            "machine on that port can download the file",
            file=out,
        )
    for caveat in browser_caveats():
        print(f"note (Avivator): {caveat}", file=out)
    print("Press Ctrl-C to stop.", file=out, flush=True)
    return view


def run(args) -> int:
    """Serve ``args.file`` until Ctrl-C or SIGTERM."""
    from ..serve.links import open_browser
    from ..serve.server import RangeServer

    path = Path(args.file).expanduser().absolute()
    for note in check_servable(path) + viv_problems(path):
        print(note, file=sys.stderr)
    server = RangeServer([path], host=args.host, port=args.port, allow_origins=allowed_origins(args))
    with Stop(twice=False) as stop, server:
        link = print_links(server, path, args)
        if args.open and not open_browser(link):
            print("could not open a browser: copy the link above into one", file=sys.stderr, flush=True)
        stop.wait()
        requests, nbytes = server.stats
    print(f"stopped after {requests} requests, {nbytes / 1e6:.1f} MB sent", file=sys.stderr)
    return 0
