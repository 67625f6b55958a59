"""`napari-viv publish SRC... DEST`: put images, their views and our viewer on a static host or an object store.

Prints ``View in your browser: URL`` first, then the Avivator link and the
image URL (one block per image when there are several, after the gallery).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def add_parser(subparsers) -> None:
    """Register ``publish`` and its options."""
    p = subparsers.add_parser(
        "publish",
        help="publish images with our viewer to a folder or an object store (s3://…), and print the links",
        description="Publish exported images or OME-Zarr stores (or any input `convert` reads, converted "
        "on the way: to OME-TIFF, or with --format ome-zarr to a store) with their offsets and view files "
        "and our viewer, to a folder (a static site) or s3://BUCKET/PREFIX (gs://, az:// through fsspec), "
        "then print the links. --format, --ngff, --shard-size and --compression are convert's; with "
        "--format, what is in the other format is converted too. See docs/publishing.md.",
    )
    p.add_argument(
        "sources",
        nargs="+",
        metavar="SRC",
        help="an exported .ome.tif, an OME-Zarr store (.ome.zarr), a folder of them (a batch's output), "
        "or an input to convert (to OME-TIFF, or to a store with --format ome-zarr)",
    )
    p.add_argument("dest", metavar="DEST", help="a folder, or s3://BUCKET/PREFIX")
    add_publish_options(p)
    from .options import add_format_options

    add_format_options(p)  # --format ome-zarr: publish a store (inputs converted to one on the way)
    p.set_defaults(run=run)


def add_publish_options(p) -> None:
    """Options shared by `publish` and `batch --publish`."""
    p.add_argument("--overwrite", action="store_true", help="replace an existing publication at DEST")
    p.add_argument(
        "--presign",
        type=int,
        default=None,
        metavar="SECONDS",
        help="keep the objects private; print a link of presigned URLs valid this long",
    )
    p.add_argument(
        "--public-url",
        default=None,
        metavar="URL",
        help="the public address of DEST when it differs from the store's (a CDN, a domain)",
    )
    p.add_argument(
        "--endpoint-url", default=None, metavar="URL", help="an S3-compatible endpoint (MinIO, Ceph, …); default AWS"
    )
    p.add_argument("--profile", default=None, metavar="NAME", help="a profile from the AWS config files")
    p.add_argument(
        "--set-cors",
        action="store_true",
        help="set a CORS rule on the bucket so pages on other sites (Avivator) can read the image",
    )
    p.add_argument("--no-check", dest="check", action="store_false", help="do not fetch the published URLs afterwards")
    p.add_argument("--jobs", type=int, default=4, metavar="N", help="files sent at the same time (default 4)")


def options_from(args):
    """PublishOptions from parsed arguments."""
    from ..errors import NapariVivError
    from ..publish import PublishOptions, StoreOptions

    if args.jobs < 1:
        raise NapariVivError("--jobs must be at least 1")
    return PublishOptions(
        overwrite=args.overwrite,
        presign=args.presign,
        public_url=args.public_url,
        set_cors=args.set_cors,
        check=args.check,
        jobs=args.jobs,
        store=StoreOptions(endpoint_url=args.endpoint_url, profile=args.profile),
    )


def print_publication(pub) -> None:
    """Print the links (the page first), then notes and warnings on stderr."""
    first = pub.images[0]
    print(f"View in your browser: {pub.page or first.page}")
    for links in pub.images if len(pub.images) > 1 else [first]:
        if len(pub.images) > 1:
            print(f"{links.name}: {links.page}")
        if links.avivator:
            print(f"Avivator: {links.avivator}")
        if links.image:
            print(f"Image: {links.image}")
    from ..text import human_bytes

    t = pub.transfer
    print(
        f"note: sent {len(t.uploaded)} files ({human_bytes(t.bytes_sent)}); {len(t.skipped)} already there "
        "and identical",
        file=sys.stderr,
    )
    for f in pub.findings:
        if f.level != "ok":
            print(f"{f.level}: {f.what}: {f.message}", file=sys.stderr)
    for note in pub.notes:
        print(f"note: {note}", file=sys.stderr)


def publish_and_print(images: list[Path], dest: str, options, *, cancel=None) -> int:
    """Publish ``images`` with a progress bar, print the links; 1 when a check found an error, else 0."""
    from ..publish import publish
    from .common import ProgressBar

    with ProgressBar(None, "publishing", unit="B") as bar:
        pub = publish(images, dest, options, progress=bar, cancel=cancel)
    print_publication(pub)
    return 1 if any(f.level == "error" for f in pub.findings) else 0


def run(args) -> int:
    """Publish and print the links; exit 1 when a check found an error."""
    from ..publish import exports_for
    from ..publish.publisher import STORE_PRESIGN
    from .common import UsageError
    from .options import format_options_from_args

    options = options_from(args)
    convert = format_options_from_args(args)
    if options.presign is not None and convert.format == "ome-zarr":
        raise UsageError(STORE_PRESIGN.replace("an OME-Zarr store", "--format ome-zarr"))
    with tempfile.TemporaryDirectory(prefix="napari-viv-convert-") as tmp:
        images = exports_for([Path(s) for s in args.sources], Path(tmp), convert=convert)
        return publish_and_print(images, args.dest, options)


def add_batch_options(p) -> None:
    """Add the ``batch --publish DEST`` options (batch's own --overwrite and --jobs stay batch's)."""
    p.add_argument(
        "--publish",
        default=None,
        metavar="DEST",
        help="afterwards, publish every output (a gallery and one page each) to a folder or "
        "s3://BUCKET/PREFIX; files already there and identical are skipped (docs/publishing.md)",
    )
    p.add_argument(
        "--presign",
        type=int,
        default=None,
        metavar="SECONDS",
        help="with --publish: keep the objects private; presigned links valid this long",
    )
    p.add_argument("--public-url", default=None, metavar="URL", help="with --publish: the public address of DEST")
    p.add_argument("--endpoint-url", default=None, metavar="URL", help="with --publish: an S3-compatible endpoint")
    p.add_argument("--profile", default=None, metavar="NAME", help="with --publish: an AWS profile")
    p.add_argument("--set-cors", action="store_true", help="with --publish: set the bucket's CORS rule")


def publish_outputs(outputs: list[Path], args) -> int:
    """Publish a batch's outputs to ``args.publish`` (replacing an earlier publication); print the links."""
    from ..publish import PublishOptions, StoreOptions

    if not outputs:
        print("napari-viv batch: nothing to publish", file=sys.stderr)
        return 1
    options = PublishOptions(
        overwrite=True,
        presign=args.presign,
        public_url=args.public_url,
        set_cors=args.set_cors,
        store=StoreOptions(endpoint_url=args.endpoint_url, profile=args.profile),
    )
    return publish_and_print(outputs, args.publish, options)
