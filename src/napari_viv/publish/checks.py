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
        return [
            Finding(
                "error",
                "range",
                f"HTTP {status} without Content-Range for a Range request: this host cannot stream "
                "the image; use a host that answers Range requests (docs/publishing.md)",
            )
        ]
    found = [Finding("ok", "range", "206 with Content-Range")]
    allowed = headers.get("Access-Control-Allow-Origin", "")
    exposed = {h.strip().lower() for h in headers.get("Access-Control-Expose-Headers", "").split(",")}
    if allowed not in ("*", origin):
        found.append(Finding("warning", "cors", f"no CORS header for {origin}: pages on other sites cannot read it"))
    elif "content-range" not in exposed and allowed != "*":
        found.append(Finding("warning", "cors", "CORS does not expose Content-Range"))
    else:
        found.append(Finding("ok", "cors", f"readable from {origin}"))
    return found


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


def cors_advice(found: list[Finding]) -> str | None:
    """Give the rule to set when a CORS check failed, as one line; None when CORS is fine."""
    if not any(f.what == "cors" and f.level != "ok" for f in found):
        return None
    return (
        "to open it from other sites (Avivator), set this CORS rule on the bucket, or rerun with --set-cors: "
        + _compact(CORS_RULE)
    )


def _compact(doc) -> str:
    import json

    return json.dumps(doc, separators=(",", ":"))
