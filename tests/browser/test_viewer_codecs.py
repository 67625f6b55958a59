"""The viewer's own Blosc, zstd and LZ4 decoders (viewer/src/codecs/, the modules the page
bundles) in Node, on chunks written here by numcodecs and imagecodecs: every decoded byte
must equal the array that was encoded.

The cases cover every Blosc inner codec the page decodes (zstd, lz4, lz4hc, zlib), each
filter (none, byte shuffle, bit shuffle), element sizes 1, 2, 4 and 8, a short last block
and a last bit-shuffle group of fewer than 8 elements, incompressible data (a whole chunk
copied, or single raw streams among compressed ones), split and unsplit blocks, and Blosc's
own block size as well as explicit ones.
"""

from __future__ import annotations

import hashlib
import json
import struct
import subprocess

import numpy as np
import pytest
from helpers.vivjs import HARNESS, node_missing_reason

pytestmark = pytest.mark.node

SCRIPT = HARNESS / "codecs.mjs"
CNAMES = ["zstd", "lz4", "lz4hc", "zlib"]
SHUFFLES = [0, 1, 2]  # none, byte, bit
DTYPES = ["u1", "<u2", "<u4", "<f8"]
# (elements, blocksize (0: Blosc picks), content): short last blocks, a last bit-shuffle group
# of fewer than 8 elements, incompressible data, half compressible and half not.
SHAPES = [
    (1003, 0, "smooth"),
    (50001, 0, "smooth"),
    (50001, 4096, "smooth"),
    (20003, 0, "random"),
    (777, 256, "random"),
    (40000, 8192, "mixed"),
]


@pytest.fixture(autouse=True)
def _node():
    reason = node_missing_reason()
    if reason:
        pytest.skip(reason)


def _data(dtype, n, kind, rng):
    noise = rng.integers(0, 256, n * np.dtype(dtype).itemsize, dtype=np.uint8).view(dtype)
    x = np.arange(n)
    smooth = ((x % 97) * 3 + x // 1000).astype(dtype)
    if kind == "random":
        return noise
    if kind == "mixed":
        return np.concatenate([smooth[: n // 2], noise[n // 2 :]])
    return smooth


def _encode(lib, a, cname, shuffle, blocksize):
    import imagecodecs
    import numcodecs

    if lib == "numcodecs":
        return numcodecs.Blosc(cname=cname, clevel=5, shuffle=shuffle, blocksize=blocksize).encode(a)
    return imagecodecs.blosc_encode(
        a, level=5, compressor=cname, shuffle=shuffle, typesize=a.itemsize, blocksize=blocksize or None
    )


def _decode_in_node(folder) -> dict:
    cmd = ["node", "--disable-warning=MODULE_TYPELESS_PACKAGE_JSON", str(SCRIPT), str(folder)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _paths(chunk: bytes) -> set[str]:
    """Which ways through the format this chunk takes (to check that the cases cover them all)."""
    flags, typesize, nbytes, blocksize = chunk[2], chunk[3], *struct.unpack_from("<II", chunk, 4)
    paths = {"bit" if flags & 4 else "byte" if flags & 1 else "none"}
    if flags & 2:
        return paths | {"memcpyed"}
    paths.add("unsplit" if flags & 0x10 else "split")
    if nbytes % blocksize:
        paths.add("short last block")
        if flags & 4 and (nbytes % blocksize // typesize) % 8:
            paths.add("short bit-shuffle group")
    nblocks = -(-nbytes // blocksize)
    for i in range(nblocks - 1):  # the whole blocks: is any stream stored raw?
        pos = struct.unpack_from("<i", chunk, 16 + 4 * i)[0]
        nsplits = 1 if flags & 0x10 else typesize
        for _ in range(nsplits):
            size = struct.unpack_from("<i", chunk, pos)[0]
            if size == blocksize // nsplits:
                paths.add("raw stream")
            pos += 4 + size
    return paths


def test_blosc_chunks_from_numcodecs_and_imagecodecs_decode_exactly(tmp_path):
    rng = np.random.default_rng(7)
    expected, covered = {}, set()
    for lib in ["numcodecs", "imagecodecs"]:
        for cname in CNAMES:
            for shuffle in SHUFFLES:
                for dtype in DTYPES:
                    for n, blocksize, kind in SHAPES:
                        a = _data(dtype, n, kind, rng)
                        chunk = bytes(_encode(lib, a, cname, shuffle, blocksize))
                        name = f"{lib}-{cname}-{shuffle}-{a.itemsize}-{n}-{blocksize}-{kind}.blosc"
                        (tmp_path / name).write_bytes(chunk)
                        expected[name] = (a.nbytes, hashlib.sha256(a.tobytes()).hexdigest())
                        covered |= _paths(chunk)
    assert covered >= {"none", "byte", "bit", "memcpyed", "split", "unsplit", "short last block"}
    assert covered >= {"short bit-shuffle group", "raw stream"}
    got = _decode_in_node(tmp_path)
    wrong = {
        k: got.get(k)
        for k, (n, digest) in expected.items()
        if got.get(k) != {"ok": True, "length": n, "sha256": digest}
    }
    assert not wrong, f"{len(wrong)} of {len(expected)} chunks decoded wrongly, e.g. {list(wrong.items())[:3]}"


def test_zstd_and_lz4_chunks_decode_exactly(tmp_path):
    import numcodecs

    rng = np.random.default_rng(3)
    expected = {}
    for n in [1, 1000, 300_001]:
        for kind in ["smooth", "random"]:
            a = _data("<u2", n, kind, rng)
            for level in [1, 19]:
                (tmp_path / f"{n}-{kind}-{level}.zstd").write_bytes(numcodecs.Zstd(level=level).encode(a))
                expected[f"{n}-{kind}-{level}.zstd"] = a
            (tmp_path / f"{n}-{kind}.lz4").write_bytes(numcodecs.LZ4(acceleration=1).encode(a))
            expected[f"{n}-{kind}.lz4"] = a
    got = _decode_in_node(tmp_path)
    for name, a in expected.items():
        assert got[name] == {"ok": True, "length": a.nbytes, "sha256": hashlib.sha256(a.tobytes()).hexdigest()}, name


@pytest.mark.parametrize("cname", ["blosclz", "snappy"])
def test_a_blosc_inner_codec_the_page_does_not_decode_is_named(tmp_path, cname):
    import numcodecs

    a = _data("<u2", 5000, "smooth", np.random.default_rng(0))
    chunk = bytearray(numcodecs.Blosc(cname="blosclz", clevel=5).encode(a))
    if cname == "snappy":  # numcodecs is built without snappy: the header names it (code 2)
        chunk[2] = (chunk[2] & 0x1F) | (2 << 5)
    (tmp_path / "x.blosc").write_bytes(chunk)
    got = _decode_in_node(tmp_path)["x.blosc"]
    assert got["ok"] is False
    assert f"Blosc chunks compressed with {cname}" in got["error"], got


def test_a_blosc2_chunk_is_refused_by_name(tmp_path):
    """Blosc2 marks its extended header with both shuffle flags: refused, not decoded into garbage."""
    import numcodecs

    a = _data("<u2", 5000, "smooth", np.random.default_rng(0))
    chunk = bytearray(numcodecs.Blosc(cname="zstd", clevel=5).encode(a))
    chunk[2] |= 0x05
    (tmp_path / "x.blosc").write_bytes(chunk)
    got = _decode_in_node(tmp_path)["x.blosc"]
    assert got["ok"] is False and "Blosc2" in got["error"], got
