"""``publish()``: images (exported, or converted on the way) -> a site at a destination -> links.

The steps, in order: find or make the exports; check the destination (bucket,
credentials, an existing publication); probe that objects can be written and
made public; send the data and the viewer; send the pages last; check the
result over HTTP as a browser would; return the links.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import naming
from ..errors import NapariVivError
from ..serve.links import avivator_link
from . import checks
from .destination import PROBE_NAME, LocalFolder, ObjectStore, StoreOptions, make_destination
from .site import PAGE, ImageEntry, SiteFile, asset_files, entries_for, relative_config, viewer_page
from .upload import Transfer, upload


@dataclass(frozen=True)
class PublishOptions:
    """What ``napari-viv publish`` was asked for (see docs/publishing.md).

    Parameters
    ----------
    overwrite : bool
        Replace an existing publication at the destination.
    presign : int, optional
        Keep the objects private and link with URLs signed for this many seconds.
    public_url : str, optional
        The public address of the destination when it differs from the store's (a CDN).
    set_cors : bool
        Set a CORS rule on the bucket when the image is not readable from other sites.
    check : bool
        Fetch the published URLs afterwards as a browser would.
    jobs : int
        Files sent at the same time.
    store : StoreOptions
        Endpoint, profile and timeouts of an object store.
    """

    overwrite: bool = False
    presign: int | None = None
    public_url: str | None = None
    set_cors: bool = False
    check: bool = True
    jobs: int = 4
    store: StoreOptions = field(default_factory=StoreOptions)


@dataclass
class ImageLinks:
    """The links of one published image."""

    name: str
    page: str | None
    avivator: str | None
    image: str | None


@dataclass
class Publication:
    """A finished publication: its links, what was sent, and what the checks found."""

    destination: str
    page: str | None
    images: list[ImageLinks]
    transfer: Transfer
    findings: list[checks.Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _check_destination(dest, options: PublishOptions) -> None:
    dest.check()
    if options.presign is not None and not (isinstance(dest, ObjectStore) and dest.is_s3):
        raise NapariVivError("--presign needs an S3 or S3-compatible destination", subject=dest.label)
    if options.presign is not None and not 1 <= options.presign <= 7 * 24 * 3600:
        raise NapariVivError("--presign SECONDS must be between 1 and 604800 (7 days)", subject=dest.label)
    if not options.overwrite and dest.stat(PAGE) is not None:
        raise NapariVivError(
            "already holds a publication (index.html); add --overwrite to replace it", subject=dest.label
        )


def _probe(dest, public: bool, staging: Path) -> None:
    """Write, make public and remove a tiny object, so that a refusal comes before any upload."""
    if not isinstance(dest, ObjectStore):
        dest.root.mkdir(exist_ok=True)
        return
    probe = staging / PROBE_NAME
    probe.write_bytes(b"napari-viv publish probe\n")
    dest.put(probe, PROBE_NAME, content_type="text/plain")
    try:
        if public:
            dest.make_public(PROBE_NAME)
    finally:
        dest.delete(PROBE_NAME)


def _site_files(entries: list[ImageEntry], dest, options: PublishOptions, staging: Path) -> list[SiteFile]:
    """List the site: data and assets first, then each image's page, then the gallery (several images)."""
    files: list[SiteFile] = [f for e in entries for f in e.data_files()]
    several = len(entries) > 1
    if options.presign is None:
        files += asset_files()
    pages: list[SiteFile] = []
    for entry in entries:
        if options.presign is not None:
            continue  # a presigned page is made after the data is up (it holds signed URLs)
        page = staging / (entry.folder or ".") / PAGE
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_bytes(
            viewer_page(relative_config(entry), assets="../" if several else "", title=naming.stem(entry.image))
        )
        pages.append(SiteFile(entry.name(PAGE), page, "page"))
    if several and options.presign is None:
        from .gallery import gallery_files

        thumbs, gallery = gallery_files(entries, staging)
        files += thumbs
        pages.append(gallery)
    return files + pages


def _presigned_pages(entries, dest: ObjectStore, seconds: int, staging: Path) -> list[SiteFile]:
    pages = []
    for entry in entries:
        config = {"image": dest.presign(entry.name(entry.image.name), seconds)}
        for key, path in entry.sidecars.items():
            config[key] = dest.presign(entry.name(path.name), seconds) if path else ""
        page = staging / "signed" / (entry.folder or ".") / PAGE
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_bytes(viewer_page(config, inline=True, title=naming.stem(entry.image)))
        pages.append(SiteFile(entry.name(PAGE), page, "page"))
    return pages


def _links(entries, dest, options: PublishOptions) -> list[ImageLinks]:
    out = []
    for entry in entries:
        name = entry.name(entry.image.name)
        if options.presign is not None:
            image = dest.presign(name, options.presign)
            page = dest.presign(entry.name(PAGE), options.presign)
        else:
            image = dest.public_url(name, options.public_url)
            page = dest.public_url(entry.name(PAGE), options.public_url)
        web = image is not None and image.startswith(("http://", "https://"))
        out.append(ImageLinks(naming.stem(entry.image), page, avivator_link(image) if web else None, image))
    return out


def publish(
    images: list[Path],
    dest: str,
    options: PublishOptions | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Publication:
    """Publish exported images, with our viewer, to a folder or an object store.

    Parameters
    ----------
    images : list of Path
        Viv-compatible ``.ome.tif`` files (their offsets and view files beside them
        are published too); see :func:`napari_viv.publish.sources.exports_for`.
    dest : str
        A folder, or ``s3://bucket/prefix`` (or another fsspec URL).
    options : PublishOptions, optional
        Overwrite, presign, public URL, CORS, checks, store access.
    progress : callable, optional
        ``progress(bytes_done, bytes_total)`` while sending.
    cancel : callable, optional
        Polled while sending; True stops before any page is sent.

    Returns
    -------
    Publication
        The links (viewer page, Avivator, image) and the checks' findings.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from napari_viv import export_pyramid
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> image = export_pyramid(np.zeros((64, 64), np.uint8), tmp / "a.ome.tif").image
    >>> pub = publish([image], str(tmp / "site"))
    >>> sorted(p.name for p in (tmp / "site").iterdir())
    ['.napari-viv-manifest.json', 'a.offsets.json', 'a.ome.tif', 'index.html', 'viewer.css', 'viewer.js']
    """
    options = options or PublishOptions()
    if not images:
        raise NapariVivError("nothing to publish", subject=dest)
    target = make_destination(dest, options.store)
    _check_destination(target, options)
    entries = entries_for([Path(i) for i in images])
    public = options.presign is None
    with tempfile.TemporaryDirectory(prefix="napari-viv-publish-") as tmp:
        staging = Path(tmp)
        _probe(target, public, staging)
        cors_set = options.set_cors and isinstance(target, ObjectStore) and target.is_s3 and _ensure_cors(target)
        files = _site_files(entries, target, options, staging)
        transfer = upload(
            target,
            files,
            public=public and isinstance(target, ObjectStore),
            jobs=options.jobs,
            progress=progress,
            cancel=cancel,
        )
        if options.presign is not None:
            assert isinstance(target, ObjectStore)
            pages = _presigned_pages(entries, target, options.presign, staging)
            more = upload(target, pages, public=False, jobs=1, cancel=cancel)
            transfer.uploaded += more.uploaded
            transfer.bytes_sent += more.bytes_sent
    links = _links(entries, target, options)
    several = len(entries) > 1
    top = target.public_url(PAGE, options.public_url) if several and public else links[0].page
    pub = Publication(target.label, top, links, transfer)
    if cors_set:
        pub.notes.append("set the bucket's CORS rule (GET and HEAD from any origin, Content-Range exposed)")
    if options.check:
        _verify(pub, target, options)
    return pub


def _verify(pub: Publication, target, options: PublishOptions) -> None:
    """Run the browser-view checks on the first image and the page; advise on CORS."""
    first = pub.images[0]
    if first.image is None or not first.image.startswith(("http://", "https://")):
        if isinstance(target, LocalFolder):
            pub.notes.append(
                "serve this folder with a web server that answers Range requests (nginx, Apache, "
                "`napari-viv serve` for one image); opening index.html as a file does not work"
            )
        return
    found = checks.check_image(first.image)
    advice = checks.cors_advice(found)
    if advice:
        pub.notes.append(advice)
    if options.presign is None and first.page:
        found += checks.check_types({PAGE: first.page, "viewer.js": target.public_url("viewer.js", options.public_url)})
    pub.findings = found


def _ensure_cors(dest) -> bool:
    """Set our CORS rule on the bucket unless it is there; True when it was set now."""
    try:
        current = dest.fs.call_s3("get_bucket_cors", Bucket=dest.bucket).get("CORSRules")
    except OSError:
        current = None  # none set yet, or not allowed to read it: try to set it
    if current == checks.CORS_RULE["CORSRules"]:
        return False
    with dest.errors("cannot set the bucket's CORS rule (--set-cors); set it by hand (docs/publishing.md)"):
        dest.fs.call_s3("put_bucket_cors", Bucket=dest.bucket, CORSConfiguration=checks.CORS_RULE)
    return True
