"""Look at a publication as a browser would: Range answers, CORS headers and content types.

Each check fetches a published URL over HTTP(S) with the standard library and
returns findings; nothing here changes the destination.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

from ..serve.links import avivator_origin
from .site import content_type

#: The CORS rule that lets Avivator (or any page) read the image with Range requests.
CORS_RULE = {
    "CORSRules": [
        {
            "AllowedOrigins": ["*"],
            "AllowedMethods": ["GET", "HEAD"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["Content-Range", "Content-Length", "ETag", "Accept-Ranges"],
            "MaxAgeSeconds": 3600,
        }
    ]
}


@dataclass(frozen=True)
class Finding:
    """One check's outcome: ``ok``, ``warning`` (it works, but not everywhere) or ``error``."""

    level: str
    what: str
    message: str


def _fetch(url: str, headers: dict[str, str], timeout: float):
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - the user's URL
            answer.read(1 << 16)
            return answer.status, answer.headers
    except urllib.error.HTTPError as err:
        return err.code, err.headers
    except (urllib.error.URLError, OSError) as err:
        return None, str(getattr(err, "reason", err))


def check_image(url: str, *, timeout: float = 20.0, origin: str | None = None) -> list[Finding]:
    """Fetch the first bytes of the image with a Range request and an ``Origin`` header.

    Parameters
    ----------
    url : str
        The public (or presigned) image URL.
    timeout : float
        Seconds for the request.
    origin : str, optional
        The page origin to ask CORS about; Avivator's by default.

    Returns
    -------
    list of Finding
        Range (206 with Content-Range), CORS (an allowed origin and an exposed Content-Range).
    """
    origin = origin or avivator_origin()
    status, headers = _fetch(url, {"Range": "bytes=0-15", "Origin": origin}, timeout)
    if status is None:
        return [Finding("error", "image", f"cannot fetch {url}: {headers}")]
    if status in (401, 403):
        return [Finding("error", "image", f"HTTP {status} for {url}: the image is not readable without credentials")]
    if status != 206 or not headers.get("Content-Range"):
        return [Finding("error", "range", _no_range(status, "the image"))]
    return [Finding("ok", "range", "206 with Content-Range"), _cors(headers, origin)]


@dataclass(frozen=True)
class StoreProbe:
    """Which keys of a published OME-Zarr store a browser check fetches (relative to the store)."""

    metadata: str  # the root's attributes: .zattrs (0.4) or zarr.json (0.5)
    chunk: str | None  # a chunk (0.4) or shard (0.5) file of the first level
    sharded: bool  # the chunk is a shard: read by ranges, so the host must answer Range
    absent: str | None  # a key Viv's reader asks for that the store has not: it must be a 404


def store_probe(store) -> StoreProbe:
    """Pick the keys to fetch from the local store (its JSON only).

    Viv's Zarr reader (zarrita) tries Zarr v2's names first: for every group
    and array it asks for ``.zattrs`` (and a 0.5 store's root ``.zattrs``,
    ``.zgroup``), and takes only a 404 as "not there"; any other answer ends
    the load. So one such absent key is probed too.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from napari_viv import export_pyramid
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> store = export_pyramid(np.zeros((64, 64), np.uint8), tmp / "a.ome.zarr").image
    >>> store_probe(store)
    StoreProbe(metadata='.zattrs', chunk='0/0/0', sharded=False, absent='0/.zattrs')
    """
    from pathlib import Path

    from ..check.zarr import array_chunks, read_node
    from ..read.omezarr import ome_attributes

    root = Path(store)
    v3 = (root / "zarr.json").is_file()
    node = read_node(root) or {}
    ome, _version = ome_attributes(node.get("attributes") or {})
    datasets = ((ome.get("multiscales") or [{}])[0] or {}).get("datasets") or [{"path": "0"}]
    level = str(datasets[0].get("path", "0"))
    meta = read_node(root / level) or {}
    sharded = bool(meta) and array_chunks(dict(meta))[2] is not None
    skip = {".zarray", ".zattrs", "zarr.json"}
    chunk = next(
        (
            p.relative_to(root).as_posix()
            for p in sorted((root / level).rglob("*"))
            if p.is_file() and p.name not in skip
        ),
        None,
    )
    candidates = [".zattrs"] if v3 else [f"{level}/.zattrs"]
    absent = next((k for k in candidates if not (root / k).exists()), None)
    return StoreProbe("zarr.json" if v3 else ".zattrs", chunk, sharded, absent)


def check_store(url: str, probe: StoreProbe, *, timeout: float = 20.0, origin: str | None = None) -> list[Finding]:
    """Fetch a published store's metadata, a chunk (a shard by a Range) and an absent key, as Viv would.

    Parameters
    ----------
    url : str
        The store's public URL (no trailing slash).
    probe : StoreProbe
        The keys to fetch (:func:`store_probe`).
    timeout : float
        Seconds per request.
    origin : str, optional
        The page origin to ask CORS about; Avivator's by default.

    Returns
    -------
    list of Finding
        ``metadata`` (200, CORS), ``range`` (a shard: 206 with Content-Range),
        ``cors`` and ``absent`` (a 404, not a 403).
    """
    origin = origin or avivator_origin()
    base = url.rstrip("/") + "/"
    status, headers = _fetch(base + probe.metadata, {"Origin": origin}, timeout)
    if status is None:
        return [Finding("error", "metadata", f"cannot fetch {base + probe.metadata}: {headers}")]
    if status != 200:
        return [Finding("error", "metadata", f"HTTP {status} for {base + probe.metadata}: the store is not readable")]
    found = [Finding("ok", "metadata", probe.metadata), _cors(headers, origin, content_range=False)]
    if probe.chunk is not None:
        status, answer = _fetch(base + probe.chunk, {"Range": "bytes=0-15", "Origin": origin}, timeout)
        streams = status == 206 and bool(answer.get("Content-Range"))
        if status is None:
            found.append(Finding("error", "chunk", f"cannot fetch {base + probe.chunk}: {answer}"))
        elif probe.sharded and not streams:
            found.append(Finding("error", "range", _no_range(status, "a shard of this NGFF 0.5 store")))
        elif status not in (200, 206):
            found.append(Finding("error", "chunk", f"HTTP {status} for {base + probe.chunk}"))
        else:
            found.append(Finding("ok", "range" if streams else "chunk", f"HTTP {status}"))
    if probe.absent is not None:
        status, _headers = _fetch(base + probe.absent, {"Origin": origin}, timeout)
        if status == 404:
            found.append(Finding("ok", "absent", "404 for a key the store has not"))
        else:
            found.append(
                Finding(
                    "error",
                    "absent",
                    f"HTTP {status} (not 404) for {probe.absent}, a key Viv's Zarr reader asks for and the store "
                    "has not: the reader stops there",
                )
            )
    return found


def _no_range(status, what: str) -> str:
    return (
        f"HTTP {status} without Content-Range for a Range request: this host cannot stream {what}; "
        "use a host that answers Range requests (docs/publishing.md)"
    )


def _cors(headers, origin: str, *, content_range: bool = True) -> Finding:
    """CORS as a page on ``origin`` needs it; ``content_range``: it reads that header (geotiff does, zarrita not)."""
    allowed = headers.get("Access-Control-Allow-Origin", "")
    exposed = {h.strip().lower() for h in headers.get("Access-Control-Expose-Headers", "").split(",")}
    if allowed not in ("*", origin):
        return Finding(
            "warning", "cors", f"no CORS header for {origin}: pages on other sites (Avivator) cannot read it"
        )
    if content_range and "content-range" not in exposed and allowed != "*":
        return Finding("warning", "cors", "CORS does not expose Content-Range")
    return Finding("ok", "cors", f"readable from {origin}")


def check_types(urls: dict[str, str], *, timeout: float = 20.0) -> list[Finding]:
    """Fetch each ``name -> url`` and compare its Content-Type with what the name needs."""
    found = []
    for name, url in urls.items():
        status, headers = _fetch(url, {}, timeout)
        if status is None or status >= 400:
            found.append(Finding("error", name, f"HTTP {status} for {url}" if status else f"{url}: {headers}"))
            continue
        want = content_type(name).split(";")[0]
        got = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if got != want and not (want == "text/javascript" and got == "application/javascript"):
            found.append(Finding("error", name, f"served as {got or 'no type'}, not {want}"))
        else:
            found.append(Finding("ok", name, got))
    return found


#: The lines a web server's configuration needs so that pages on other sites read the published files.
WEB_CORS = (
    (
        "nginx",
        'add_header Access-Control-Allow-Origin "*" always; '
        'add_header Access-Control-Expose-Headers "Content-Range, Content-Length, ETag" always;',
    ),
    ("Apache", 'Header always set Access-Control-Allow-Origin "*"'),
    ("Apache", 'Header always set Access-Control-Expose-Headers "Content-Range, Content-Length, ETag"'),
)


def cors_advice(found: list[Finding], *, web_server: bool = False) -> str | None:
    """Give the rule to set when a CORS check failed; None when CORS is fine.

    Parameters
    ----------
    found : list of Finding
        What the checks found.
    web_server : bool
        The files are on a web server (a folder publication with ``--public-url``):
        give its header lines; else the object store's CORS rule.

    Returns
    -------
    str or None
        The advice, its rule on lines of its own.

    Examples
    --------
    >>> print(cors_advice([Finding("warning", "cors", "no CORS")], web_server=True).splitlines()[1][:40])
      nginx: add_header Access-Control-Allow
    """
    if not any(f.what == "cors" and f.level != "ok" for f in found):
        return None
    if web_server:
        return (
            "our viewer's page on the same host works; for pages on other sites (Avivator), add these "
            "headers to the web server's configuration for this folder:\n"
            + "\n".join(f"  {name}: {rule}" for name, rule in WEB_CORS)
        )
    return (
        "to open it from other sites (Avivator), set this CORS rule on the bucket, or rerun with --set-cors: "
        + _compact(CORS_RULE)
    )


def absent_advice(found: list[Finding], bucket: str | None, prefix: str) -> str | None:
    """Say how to make a store's absent keys answer 404 (S3: let anyone list the prefix); None when they do."""
    if not any(f.what == "absent" and f.level == "error" for f in found):
        return None
    if bucket is None:
        return "make the web server answer 404 (not 403) for files that do not exist under the store"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": f"{prefix}/*" if prefix else "*"}},
            }
        ],
    }
    return (
        "S3 answers 404 for a missing key only to readers allowed to list the bucket; add this statement "
        "to the bucket policy (it lets anyone list this prefix): " + _compact(policy)
    )


def _compact(doc) -> str:
    import json

    return json.dumps(doc, separators=(",", ":"))
