"""RangeServer over real HTTP on 127.0.0.1: ranges, CORS, routing, robustness."""

from __future__ import annotations

import http.client
import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import psutil
import pytest

from napari_viv.errors import NapariVivError
from napari_viv.serve.server import AVIVATOR_ORIGIN, RangeServer

AVIVATOR = "https://avivator.gehlenborglab.org"


@pytest.fixture
def folder(tmp_path):
    """x.ome.tif (random bytes), its offsets.json and neighbours that must stay private."""
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, 3_000_000, dtype=np.uint8).tobytes()
    (tmp_path / "x.ome.tif").write_bytes(data)
    (tmp_path / "x.offsets.json").write_text("[8, 1234]")
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    (tmp_path / "x.ome.tif.gz").write_bytes(b"NOT THE FILE, A GZIP SIBLING")
    (tmp_path / "x.ome.tif.br").write_bytes(b"NOT THE FILE, A BROTLI SIBLING")
    return tmp_path


@pytest.fixture
def server(folder):
    with RangeServer([folder / "x.ome.tif"]) as srv:
        yield srv


def request(srv, path, method="GET", headers=None, port=None):
    """One raw request (the path is sent exactly as given)."""
    conn = http.client.HTTPConnection("127.0.0.1", port or srv.port, timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def settled_stats(srv, requests, timeout=10.0):
    """Stats once ``requests`` responses are counted (counting ends after the
    last byte is handed to the socket, so a client can be a moment ahead)."""
    deadline = time.monotonic() + timeout
    while srv.stats.requests < requests and time.monotonic() < deadline:
        time.sleep(0.01)
    return srv.stats


def assert_cors(headers, origin=AVIVATOR):
    assert headers["Access-Control-Allow-Origin"] == origin
    exposed = {h.strip().lower() for h in headers["Access-Control-Expose-Headers"].split(",")}
    assert {"content-range", "content-length"} <= exposed


# -- statuses and headers ------------------------------------------------


def test_full_get_is_the_whole_file_with_cors(server, folder):
    status, headers, body = request(server, "/x.ome.tif", headers={"Origin": AVIVATOR})
    assert status == 200
    assert body == (folder / "x.ome.tif").read_bytes()
    assert int(headers["Content-Length"]) == len(body)
    assert_cors(headers)
    assert "Origin" in headers["Vary"]
    assert "Content-Encoding" not in headers


def test_viv_style_range_gives_206_and_content_range(server, folder):
    data = (folder / "x.ome.tif").read_bytes()
    # Viv/geotiff ask for 64 KiB blocks with an inclusive end one too far.
    status, headers, body = request(
        server,
        "/x.ome.tif",
        headers={"Range": "bytes=65536-131072", "Origin": AVIVATOR, "Accept-Encoding": "gzip, deflate, br"},
    )
    assert status == 206
    assert body == data[65536:131073]
    assert headers["Content-Range"] == f"bytes 65536-131072/{len(data)}"
    assert "Content-Encoding" not in headers
    assert_cors(headers)


def test_suffix_range(server, folder):
    data = (folder / "x.ome.tif").read_bytes()
    status, headers, body = request(server, "/x.ome.tif", headers={"Range": "bytes=-500"})
    assert status == 206
    assert body == data[-500:]
    assert headers["Content-Range"] == f"bytes {len(data) - 500}-{len(data) - 1}/{len(data)}"


def test_range_past_the_end_is_clipped(server, folder):
    data = (folder / "x.ome.tif").read_bytes()
    start = len(data) - 1000
    status, headers, body = request(server, "/x.ome.tif", headers={"Range": f"bytes={start}-{len(data) + 65536}"})
    assert status == 206
    assert body == data[start:]
    assert headers["Content-Range"] == f"bytes {start}-{len(data) - 1}/{len(data)}"


def test_unsatisfiable_range_is_416_with_cors(server, folder):
    size = (folder / "x.ome.tif").stat().st_size
    status, headers, _ = request(server, "/x.ome.tif", headers={"Range": f"bytes={size + 10}-", "Origin": AVIVATOR})
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{size}"
    assert_cors(headers)


def test_head_has_length_and_no_body(server, folder):
    status, headers, body = request(server, "/x.ome.tif", method="HEAD")
    assert status == 200
    assert body == b""
    assert int(headers["Content-Length"]) == (folder / "x.ome.tif").stat().st_size
    assert headers["Accept-Ranges"] == "bytes"
    assert_cors(headers)


def test_preflight_allows_range_and_private_network(server):
    status, headers, body = request(
        server,
        "/x.ome.tif",
        method="OPTIONS",
        headers={
            "Origin": AVIVATOR,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert status in (200, 204)
    assert headers["Access-Control-Allow-Origin"] == AVIVATOR
    allowed = {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert {"range", "content-type"} <= allowed
    methods = {m.strip() for m in headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "HEAD", "OPTIONS"} <= methods
    assert headers["Access-Control-Allow-Private-Network"] == "true"


def test_404_and_405_carry_cors(server):
    status, headers, _ = request(server, "/missing.ome.tif", headers={"Origin": AVIVATOR})
    assert status == 404
    assert_cors(headers)
    status, headers, _ = request(server, "/x.ome.tif", method="POST", headers={"Origin": AVIVATOR})
    assert status == 405
    assert_cors(headers)
    assert "GET" in headers["Allow"]


def test_offsets_sidecar_is_served_as_json(server, folder):
    status, headers, body = request(server, "/x.offsets.json", headers={"Origin": AVIVATOR})
    assert status == 200
    assert body == (folder / "x.offsets.json").read_bytes()
    assert headers["Content-Type"].startswith("application/json")
    assert_cors(headers)


def test_offsets_sidecar_appearing_later_is_picked_up(tmp_path):
    (tmp_path / "y.ome.tif").write_bytes(b"II*\x00" + bytes(100))
    with RangeServer([tmp_path / "y.ome.tif"]) as srv:
        status, headers, _ = request(srv, "/y.offsets.json", headers={"Origin": AVIVATOR})
        assert status == 404
        assert_cors(headers)  # Avivator's unguarded fetch must not hit a CORS error
        (tmp_path / "y.offsets.json").write_text("[8]")
        status, _, body = request(srv, "/y.offsets.json")
        assert (status, body) == (200, b"[8]")


# -- origins -------------------------------------------------------------


def test_other_origins_are_refused_by_default(server, caplog):
    with caplog.at_level(logging.WARNING, logger="napari_viv.serve.server"):
        status, headers, body = request(server, "/x.ome.tif", headers={"Origin": "https://evil.example"})
    assert status == 403
    assert "Access-Control-Allow-Origin" not in headers
    assert b"II*" not in body and len(body) < 200
    assert "https://evil.example" in caplog.text


def test_configured_origins_are_reflected(folder):
    mine = "http://localhost:8080"
    with RangeServer([folder / "x.ome.tif"], allow_origins=[mine, AVIVATOR]) as srv:
        for origin in (mine, AVIVATOR):
            status, headers, _ = request(srv, "/x.ome.tif", headers={"Origin": origin, "Range": "bytes=0-9"})
            assert status == 206
            assert headers["Access-Control-Allow-Origin"] == origin
            assert "Origin" in headers["Vary"]
        status, _, _ = request(srv, "/x.ome.tif", headers={"Origin": "http://localhost:9999"})
        assert status == 403


def test_star_allows_any_origin(folder):
    with RangeServer([folder / "x.ome.tif"], allow_origins="*") as srv:
        status, headers, _ = request(srv, "/nope", headers={"Origin": "https://a.example"})
        assert status == 404
        assert headers["Access-Control-Allow-Origin"] == "*"


def test_default_allows_self_hosted_avivator_from_env(folder, monkeypatch):
    monkeypatch.setenv("NAPARI_VIV_AVIVATOR_URL", "https://viv.example.org:8443/avivator/")
    with RangeServer([folder / "x.ome.tif"]) as srv:
        for origin in (AVIVATOR, "https://viv.example.org:8443"):
            status, headers, _ = request(srv, "/x.ome.tif", method="HEAD", headers={"Origin": origin})
            assert status == 200
            assert headers["Access-Control-Allow-Origin"] == origin
    assert AVIVATOR_ORIGIN == AVIVATOR


# -- routing: exactly the given files ------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/secret.txt",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/x.ome.tif/../secret.txt",
        "/x.ome.tif%2F..%2Fsecret.txt",
        "//etc/passwd",
        "/../../../../etc/passwd",
        "/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/x.ome.tif.gz",
        "/x.ome.tif.br",
        "/X.OME.TIF",
        "/x.ome.tif%00",
        "/./secret.txt",
        "/sub/x.ome.tif",
    ],
)
def test_nothing_but_the_served_files(server, path):
    status, headers, body = request(server, path, headers={"Origin": AVIVATOR})
    assert status in (400, 404)
    assert b"SECRET" not in body and b"root:" not in body and b"SIBLING" not in body
    if status == 404:
        assert_cors(headers)


def test_precompressed_sibling_is_never_substituted(server, folder):
    for enc in ("gzip", "br", "gzip, deflate, br"):
        status, headers, body = request(server, "/x.ome.tif", headers={"Accept-Encoding": enc, "Range": "bytes=0-99"})
        assert status == 206
        assert body == (folder / "x.ome.tif").read_bytes()[:100]
        assert "Content-Encoding" not in headers


def test_names_with_spaces_and_url_for(tmp_path):
    path = tmp_path / "my image #1.ome.tif"
    path.write_bytes(b"II*\x00hello")
    with RangeServer([path]) as srv:
        url = srv.url_for(path)
        assert url == f"http://127.0.0.1:{srv.port}/my%20image%20%231.ome.tif"
        assert srv.url_for(path.name) == url
        assert srv.url == url
        status, _, body = request(srv, url.split(str(srv.port), 1)[1])
        assert (status, body) == (200, b"II*\x00hello")
        with pytest.raises(NapariVivError):
            srv.url_for(tmp_path / "other.ome.tif")


def test_bad_arguments_raise_napari_viv_error(tmp_path):
    with pytest.raises(NapariVivError, match="missing.ome.tif"):
        RangeServer([tmp_path / "missing.ome.tif"])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.ome.tif").write_bytes(b"1")
    (tmp_path / "b" / "x.ome.tif").write_bytes(b"2")
    with pytest.raises(NapariVivError, match="x.ome.tif"):
        RangeServer([tmp_path / "a" / "x.ome.tif", tmp_path / "b" / "x.ome.tif"])
    with pytest.raises(NapariVivError):
        RangeServer([tmp_path / "a" / "x.ome.tif"], allow_origins=["not a url"])


def test_host_header_must_be_loopback(server):
    status, headers, body = request(server, "/x.ome.tif", headers={"Host": "evil.example:80"})
    assert status == 403
    assert b"II*" not in body
    for host in ("localhost:8000", "127.0.0.1", "[::1]:5"):
        status, _, _ = request(server, "/x.ome.tif", method="HEAD", headers={"Host": host})
        assert status == 200, host


# -- listening socket ----------------------------------------------------


def listeners(port):
    return [
        c
        for c in psutil.Process().net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    ]


def test_listens_on_loopback_only(server):
    socks = listeners(server.port)
    assert socks and all(c.laddr.ip == "127.0.0.1" for c in socks)
    others = [
        a.address
        for addrs in psutil.net_if_addrs().values()
        for a in addrs
        if a.family == socket.AF_INET and not a.address.startswith("127.")
    ]
    for address in others:
        with pytest.raises(OSError):
            socket.create_connection((address, server.port), timeout=2).close()


def test_other_host_is_bound_with_a_warning(folder, caplog):
    with (
        caplog.at_level(logging.WARNING, logger="napari_viv.serve.server"),
        RangeServer([folder / "x.ome.tif"], host="0.0.0.0") as srv,
    ):
        assert {c.laddr.ip for c in listeners(srv.port)} == {"0.0.0.0"}
        status, _, _ = request(srv, "/x.ome.tif", method="HEAD", headers={"Host": "example.org"})
        assert status == 200  # no loopback Host guard when exposed on purpose
    assert "anyone" in caplog.text


def test_port_in_use_is_a_clear_error(folder):
    with RangeServer([folder / "x.ome.tif"]) as first:
        before = threading.active_count()
        with pytest.raises(NapariVivError, match=str(first.port)):
            RangeServer([folder / "x.ome.tif"], port=first.port).start()
        assert threading.active_count() == before


# -- robustness ----------------------------------------------------------


def test_400_concurrent_64k_ranges_are_byte_exact(server, folder):
    data = (folder / "x.ome.tif").read_bytes()
    rng = np.random.default_rng(7)
    starts = rng.integers(0, len(data) - 65536, 400).tolist()
    local = threading.local()

    def fetch(start):
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("GET", "/x.ome.tif", headers={"Range": f"bytes={start}-{start + 65535}"})
        resp = conn.getresponse()
        return start, resp.status, resp.read()

    req0, bytes0 = server.stats
    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(fetch, starts))
    for start, status, body in results:
        assert status == 206
        assert body == data[start : start + 65536]
    requests, nbytes = settled_stats(server, req0 + 400)
    assert requests - req0 == 400
    assert nbytes - bytes0 == 400 * 65536


def test_clients_hanging_up_mid_body_do_not_hurt(tmp_path):
    big = tmp_path / "big.ome.tif"
    big.write_bytes(os.urandom(32 * 1024 * 1024))
    with RangeServer([big]) as srv:
        for _ in range(10):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.sendall(b"GET /big.ome.tif HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()  # RST while the body is still being sent
        status, _, body = request(srv, "/big.ome.tif", headers={"Range": "bytes=1000-1999"})
        assert status == 206
        with open(big, "rb") as f:
            f.seek(1000)
            assert body == f.read(1000)
        assert srv.running


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def test_start_stop_50_times_leaks_nothing(folder):
    srv = RangeServer([folder / "x.ome.tif"])
    srv.start()
    port = srv.port
    srv.stop()
    threads, fds = threading.active_count(), open_fds()
    for _ in range(50):
        srv = RangeServer([folder / "x.ome.tif"], port=port)
        srv.start()
        assert srv.port == port
        status, _, _ = request(srv, "/x.ome.tif", headers={"Range": "bytes=0-9"})
        assert status == 206
        srv.stop()
        assert not srv.running
    time.sleep(0.2)
    assert threading.active_count() == threads
    assert open_fds() <= fds + 2
    assert not listeners(port)
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    probe.bind(("127.0.0.1", port))  # the port is free again
    probe.close()


def test_start_and_stop_from_different_threads(folder):
    srv = RangeServer([folder / "x.ome.tif"])
    t = threading.Thread(target=srv.start)
    t.start()
    t.join()
    assert srv.running
    status, _, _ = request(srv, "/x.ome.tif", method="HEAD")
    assert status == 200
    port = srv.port
    t = threading.Thread(target=srv.stop)
    t.start()
    t.join()
    assert not srv.running
    assert not listeners(port)
    srv.stop()  # idempotent


def test_reexport_while_serving_never_tears_a_response(tmp_path):
    """os.replace() during many reads: every body is one whole version."""
    target = tmp_path / "r.ome.tif"
    size = 2 * 1024 * 1024
    versions = [bytes([v]) * size for v in range(1, 4)] + [bytes([9]) * (size // 2)]
    target.write_bytes(versions[0])
    stop = threading.Event()

    def reexport():
        i = 0
        while not stop.is_set():
            i = (i + 1) % len(versions)
            tmp = tmp_path / f".r.{i}.tmp"
            tmp.write_bytes(versions[i])
            os.replace(tmp, target)

    with RangeServer([target]) as srv:
        writer = threading.Thread(target=reexport)
        writer.start()
        try:

            def fetch(_):
                return request(srv, "/r.ome.tif")

            with ThreadPoolExecutor(max_workers=8) as pool:
                results = list(pool.map(fetch, range(120)))
        finally:
            stop.set()
            writer.join()
    seen = set()
    for status, headers, body in results:
        assert status == 200
        assert body in versions
        assert int(headers["Content-Length"]) == len(body)
        seen.add(body[:1])
    assert len(seen) >= 2  # the replacements really happened during the reads


def test_conditional_get_is_304_with_cors(server):
    status, headers, _ = request(server, "/x.ome.tif", method="HEAD")
    etag = headers["ETag"]
    status, headers, body = request(server, "/x.ome.tif", headers={"If-None-Match": etag, "Origin": AVIVATOR})
    assert (status, body) == (304, b"")
    assert_cors(headers)
    status, _, _ = request(server, "/x.ome.tif", headers={"If-Match": '"nope"'})
    assert status == 412


def test_served_path_turning_into_a_folder_is_403_with_cors(tmp_path):
    path = tmp_path / "d.ome.tif"
    path.write_bytes(b"II*\x00")
    with RangeServer([path]) as srv:
        path.unlink()
        path.mkdir()
        (path / "inner").write_text("SECRET")
        status, headers, body = request(srv, "/d.ome.tif", headers={"Origin": AVIVATOR})
        assert status == 403 and b"SECRET" not in body
        assert_cors(headers)


def test_validators_follow_the_file_version(server, folder):
    """ETag/Last-Modified name the version on disk: a re-export (same size,
    same second) is a new ETag, so a stale If-None-Match or If-Range gets
    the new bytes, never a 304 or a range of the old version."""
    path = folder / "x.ome.tif"
    old = request(server, "/x.ome.tif", method="HEAD")[1]
    status, headers, body = request(server, "/x.ome.tif", headers={"If-None-Match": old["ETag"], "Origin": AVIVATOR})
    assert (status, body) == (304, b"")
    assert headers["ETag"] == old["ETag"]
    assert_cors(headers)
    new_bytes = bytes(reversed(path.read_bytes()))
    tmp = folder / ".x.tmp"
    tmp.write_bytes(new_bytes)
    os.utime(tmp, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns))
    os.replace(tmp, path)
    status, headers, body = request(server, "/x.ome.tif", headers={"If-None-Match": old["ETag"], "Range": "bytes=0-9"})
    assert (status, body) == (206, new_bytes[:10])
    assert headers["ETag"] != old["ETag"]
    # If-Range with the old ETag: the range is of a version that is gone, so
    # the whole new file comes back (200), as RFC 9110 section 13.1.5 says.
    status, _, body = request(server, "/x.ome.tif", headers={"If-Range": old["ETag"], "Range": "bytes=0-9"})
    assert (status, body) == (200, new_bytes)
    current = headers["ETag"]
    status, _, body = request(server, "/x.ome.tif", headers={"If-Range": current, "Range": "bytes=0-9"})
    assert (status, body) == (206, new_bytes[:10])
    status, _, body = request(server, "/x.ome.tif", headers={"If-Range": "W/" + current, "Range": "bytes=0-9"})
    assert status == 200  # a weak validator never validates a range


def test_date_conditions(server, folder):
    headers = request(server, "/x.ome.tif", method="HEAD")[1]
    last_modified = headers["Last-Modified"]
    long_ago = "Mon, 01 Jan 2001 00:00:00 GMT"
    status, headers, _ = request(server, "/x.ome.tif", headers={"If-Modified-Since": last_modified, "Origin": AVIVATOR})
    assert status == 304
    assert_cors(headers)
    assert request(server, "/x.ome.tif", method="HEAD", headers={"If-Modified-Since": long_ago})[0] == 200
    status, headers, _ = request(server, "/x.ome.tif", headers={"If-Unmodified-Since": long_ago, "Origin": AVIVATOR})
    assert status == 412
    assert_cors(headers)
    size = (folder / "x.ome.tif").stat().st_size
    status, _, body = request(server, "/x.ome.tif", headers={"If-Range": last_modified, "Range": "bytes=5-9"})
    assert (status, len(body)) == (206, 5)
    status, _, body = request(server, "/x.ome.tif", headers={"If-Range": long_ago, "Range": "bytes=5-9"})
    assert (status, len(body)) == (200, size)


@pytest.mark.parametrize("spec", ["bytes=0-1,4-5", "bytes=abc", "bytes=9-3", "items=0-5"])
def test_ranges_that_are_not_one_byte_range_are_416(server, folder, spec):
    size = (folder / "x.ome.tif").stat().st_size
    status, headers, body = request(server, "/x.ome.tif", headers={"Range": spec, "Origin": AVIVATOR})
    assert (status, body) == (416, b"")
    assert headers["Content-Range"] == f"bytes */{size}"
    assert_cors(headers)


def test_head_with_range_and_empty_file(tmp_path):
    path = tmp_path / "e.ome.tif"
    path.write_bytes(b"")
    with RangeServer([path]) as srv:
        status, headers, body = request(srv, "/e.ome.tif")
        assert (status, body, headers["Content-Length"]) == (200, b"", "0")
        assert request(srv, "/e.ome.tif", headers={"Range": "bytes=0-9"})[0] == 416
        assert request(srv, "/e.ome.tif", headers={"Range": "bytes=-9"})[0] == 416
        path.write_bytes(b"0123456789")
        status, headers, body = request(srv, "/e.ome.tif", method="HEAD", headers={"Range": "bytes=2-4"})
        assert (status, body) == (206, b"")
        assert headers["Content-Range"] == "bytes 2-4/10"
        assert headers["Content-Length"] == "3"


def test_long_ranges_are_streamed_byte_exact_and_counted(tmp_path):
    """Bodies over the one-read size go out in pieces; the counters match."""
    path = tmp_path / "long.ome.tif"
    data = np.random.default_rng(5).integers(0, 256, 5_500_000, dtype=np.uint8).tobytes()
    path.write_bytes(data)
    threads, fds = threading.active_count(), open_fds()
    with RangeServer([path]) as srv:
        status, _, body = request(
            srv, "/long.ome.tif", headers={"Range": "bytes=12345-4012344", "Accept-Encoding": "gzip, br"}
        )
        assert (status, body) == (206, data[12345:4012345])
        status, _, body = request(srv, "/long.ome.tif")
        assert (status, body) == (200, data)
        status, _, body = request(srv, "/long.ome.tif", method="HEAD")
        assert status == 200
        status, _, _ = request(srv, "/long.ome.tif", headers={"Range": f"bytes={len(data)}-"})
        assert status == 416
        stats = settled_stats(srv, 4)
        assert stats == (4, 4_000_000 + len(data))
    # the worker threads that read the long bodies are gone with the server
    assert threading.active_count() == threads
    assert open_fds() <= fds


def test_served_path_turning_into_a_fifo_is_403_without_hanging(tmp_path):
    path = tmp_path / "f.ome.tif"
    path.write_bytes(b"II*\x00")
    with RangeServer([path]) as srv:
        path.unlink()
        os.mkfifo(path)
        status, headers, _ = request(srv, "/f.ome.tif", headers={"Origin": AVIVATOR})
        assert status == 403
        assert_cors(headers)
        status, _, _ = request(srv, "/x.view.json")
        assert status == 404  # still serving


def test_file_that_shrinks_mid_download_closes_the_connection(tmp_path, caplog):
    """Written over in place (not the atomic re-export) while a long body is
    out: the client sees a short, closed response, never a hang or other bytes."""
    path = tmp_path / "s.ome.tif"
    path.write_bytes(bytes(64 * 1024 * 1024))
    with RangeServer([path]) as srv, caplog.at_level(logging.WARNING, logger="napari_viv.serve.server"):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        s.sendall(b"GET /s.ome.tif HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        os.truncate(path, 1024 * 1024)
        received = 0
        while chunk := s.recv(1 << 20):
            received += len(chunk)
        s.close()
        assert received < 64 * 1024 * 1024
        assert "shrank" in caplog.text
        assert request(srv, "/s.ome.tif", method="HEAD")[1]["Content-Length"] == str(1 << 20)
        assert settled_stats(srv, 1).requests == 1  # the cut-short answer is not counted


def test_port_comes_from_the_bound_socket(folder):
    with RangeServer([folder / "x.ome.tif"]) as srv:
        assert srv.port > 0
        assert [c.laddr.port for c in listeners(srv.port)] == [srv.port]
        assert srv.origin == f"http://127.0.0.1:{srv.port}"


@pytest.mark.parametrize(
    "origin",
    ["http://[::1", "http://a:99999", "null", "", "file://", "https://avivator.gehlenborglab.org.evil.example"],
)
def test_malformed_or_lookalike_origins_are_refused(server, origin):
    status, headers, _ = request(server, "/x.ome.tif", headers={"Origin": origin})
    assert status == 403
    assert "Access-Control-Allow-Origin" not in headers
    status, _, _ = request(server, "/x.ome.tif", method="HEAD")  # still serving
    assert status == 200


# -- our viewer on the same origin ----------------------------------------


def test_viewer_page_and_bundle_are_served_at_the_root(server, folder):
    from napari_viv.serve import viewer

    status, headers, body = request(server, "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert body == (viewer.VIEWER_DIR / "index.html").read_bytes()
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "'unsafe-eval'" not in csp
    assert "script-src 'self' 'wasm-unsafe-eval'" in csp  # geotiff's LZW decoder is WebAssembly
    for name, ctype in (("viewer.js", "text/javascript"), ("viewer.css", "text/css")):
        status, headers, body = request(server, f"/{name}")
        assert status == 200 and headers["Content-Type"] == f"{ctype}; charset=utf-8"
        assert body == (viewer.VIEWER_DIR / name).read_bytes() and len(body) > 500
    assert "Content-Security-Policy" not in request(server, "/x.ome.tif", method="HEAD")[1]


@pytest.mark.parametrize(
    "path", ["/index.html", "/viewer_dist/viewer.js", "/viewer.js.map", "/x.view.json", "/%2e%2e/viewer.js"]
)
def test_viewer_routes_are_exact(server, path):
    assert request(server, path)[0] == 404


def test_view_file_beside_the_image_is_served(folder):
    (folder / "x.view.json").write_text('{"version": 1, "channels": []}')
    with RangeServer([folder / "x.ome.tif"]) as srv:
        status, headers, body = request(srv, "/x.view.json")
        assert status == 200 and headers["Content-Type"].startswith("application/json")
        assert body == (folder / "x.view.json").read_bytes()
        assert srv.viewer_url_for(folder / "x.ome.tif") == f"{srv.origin}/?image=/x.ome.tif"


def test_a_served_file_cannot_shadow_the_viewer(tmp_path):
    (tmp_path / "viewer.js").write_text("alert(1)")
    with pytest.raises(NapariVivError, match="viewer.js"):
        RangeServer([tmp_path / "viewer.js"])


@pytest.mark.parametrize("module", ["napari_viv.serve.server", "napari_viv.serve.origins"])
def test_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{module} has no examples"
    assert result.failed == 0
