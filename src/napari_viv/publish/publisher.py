"""``publish()``: images (exported, or converted on the way) -> a site at a destination -> links.

The steps, in order: find or make the exports (or OME-Zarr stores); check the destination (bucket,
credentials, an existing publication); probe that objects can be written and
made public; remove keys an earlier store at the same name has and the new one has not; send the data
and the viewer; send the pages last; check the
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


#: Why a store cannot be presigned, and what to do instead (one line).
STORE_PRESIGN = (
    "a private link (--presign) cannot cover an OME-Zarr store: one signature covers one file, and the "
    "viewer fetches a store's many files by name; publish it without --presign (anyone with the link "
    "can read it), or as one OME-TIFF file, which one signature covers (--format ome-tiff)"
)


def _check_destination(dest, options: PublishOptions, entries: list[ImageEntry]) -> None:
    if options.presign is not None:
        store = next((e.image for e in entries if e.is_store), None)
        if store is not None:
            raise NapariVivError(STORE_PRESIGN, subject=store)
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


def _signed_view(entry: ImageEntry, dest: ObjectStore, seconds: int, staging: Path) -> SiteFile | None:
    """Make the view file a presigned page reads, or None when the image has no view and no scene.

    The page cannot derive its neighbours' URLs (each needs its own
    signature), so this copy of the view file names each label pyramid by its
    signed URL, and carries the points and shapes in itself (the viewer reads
    the scene's features from the view file's URL when no sibling name can be
    derived from it; an empty collection when there are none).
    """
    import json

    view, features = entry.sidecars["viewfile"], naming.features_path(entry.image)
    labels = [p for p in naming.sidecar_paths(entry.image) if naming.LABELS_INFIX in p.name and p.is_file()]
    if view is None and not features.is_file() and not labels:
        return None
    doc: dict = json.loads(view.read_text(encoding="utf-8")) if view is not None else {"version": 1}
    for label in doc.get("labels") or []:
        if isinstance(label, dict) and isinstance(label.get("file"), str) and "://" not in label["file"]:
            offsets = naming.offsets_path(entry.image.parent / label["file"])
            if offsets.is_file():  # signed too: the page cannot derive a signed neighbour's URL
                label["offsets"] = dest.presign(entry.name(offsets.name), seconds)
            label["file"] = dest.presign(entry.name(label["file"]), seconds)
    scene = json.loads(features.read_text(encoding="utf-8")) if features.is_file() else {}
    doc["type"] = "FeatureCollection"
    doc["napari_viv"] = scene.get("napari_viv", {"version": 1, "layers": []})
    doc["features"] = scene.get("features", [])
    path = staging / "signed" / (entry.folder or ".") / (naming.stem(entry.image) + ".presigned" + naming.VIEW_SUFFIX)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return SiteFile(entry.name(path.name), path, "data")


def _presigned_site(entries, dest: ObjectStore, seconds: int, staging: Path) -> list[SiteFile]:
    """Make the signed view files (data) and the presigned pages (last), once the data is up."""
    views, pages = [], []
    for entry in entries:
        config = {"image": dest.presign(entry.name(entry.image.name), seconds)}
        for key, path in entry.sidecars.items():
            config[key] = dest.presign(entry.name(path.name), seconds) if path else ""
        view = _signed_view(entry, dest, seconds, staging)
        if view is not None:
            views.append(view)
            config["viewfile"] = dest.presign(view.name, seconds)
        page = staging / "signed" / (entry.folder or ".") / PAGE
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_bytes(viewer_page(config, inline=True, title=naming.stem(entry.image)))
        pages.append(SiteFile(entry.name(PAGE), page, "page"))
    return views + pages


def _remove_stale(dest, entries: list[ImageEntry], files: list[SiteFile]) -> None:
    """Remove keys of an earlier store at the same name that the new store has not (--overwrite)."""
    stores = [e.name(e.image.name) + "/" for e in entries if e.is_store]
    if not stores:
        return
    keep = {f.name for f in files}
    dest.delete_many([n for n in dest.listing() if n.startswith(tuple(stores)) and n not in keep])


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
        are published too) or OME-Zarr stores (every key, and the view file beside
        the store); see :func:`napari_viv.publish.sources.exports_for`.
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
    >>> store = export_pyramid(np.zeros((64, 64), np.uint8), tmp / "b.ome.zarr").image
    >>> publish([store], str(tmp / "zarr-site")).images[0].image.endswith("/zarr-site/b.ome.zarr")
    True
    """
    options = options or PublishOptions()
    if not images:
        raise NapariVivError("nothing to publish", subject=dest)
    target = make_destination(dest, options.store)
    entries = entries_for([Path(i) for i in images])
    _check_destination(target, options, entries)
    public = options.presign is None
    with tempfile.TemporaryDirectory(prefix="napari-viv-publish-") as tmp:
        staging = Path(tmp)
        _probe(target, public, staging)
        cors_set = options.set_cors and isinstance(target, ObjectStore) and target.is_s3 and _ensure_cors(target)
        files = _site_files(entries, target, options, staging)
        _remove_stale(target, entries, files)
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
            signed = _presigned_site(entries, target, options.presign, staging)
            more = upload(target, signed, public=False, jobs=1, cancel=cancel)
            transfer.uploaded += more.uploaded
            transfer.bytes_sent += more.bytes_sent
    links = _links(entries, target, options)
    several = len(entries) > 1
    top = target.public_url(PAGE, options.public_url) if several and public else links[0].page
    pub = Publication(target.label, top, links, transfer)
    if cors_set:
        pub.notes.append("set the bucket's CORS rule (GET and HEAD from any origin, Content-Range exposed)")
    if options.check:
        _verify(pub, target, options, entries[0])
    return pub


def _verify(pub: Publication, target, options: PublishOptions, entry: ImageEntry) -> None:
    """Run the browser-view checks on the first image and the page; advise on CORS and missing keys."""
    first = pub.images[0]
    if first.image is None or not first.image.startswith(("http://", "https://")):
        if isinstance(target, LocalFolder):
            pub.notes.append(
                "serve this folder with a web server that answers Range requests (nginx, Apache, "
                "`napari-viv serve` for one image); opening index.html as a file does not work"
            )
        return
    if entry.is_store:
        found = checks.check_store(first.image, checks.store_probe(entry.image))
    else:
        found = checks.check_image(first.image)
    s3 = isinstance(target, ObjectStore) and target.is_s3 and not options.public_url
    key = "/".join(p for p in (getattr(target, "prefix", ""), entry.name(entry.image.name)) if p)
    for advice in (
        checks.cors_advice(found, web_server=isinstance(target, LocalFolder)),
        checks.absent_advice(found, target.bucket if s3 else None, key),
    ):
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
