"""check/zarr.py: `check` on an OME-Zarr store, each rule judged against the real Viv loader.

Every store starts as an ome-zarr-py store (the reference writer) and is
broken in one way; the check must call it an error, and the real
``loadOmeZarr`` (Node, loopback HTTP) must fail or show other pixels.
Rules about Avivator only (its unguarded ``omero.channels``, its 2-D chunks)
say so: the loader itself opens those stores.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from helpers.vivjs import VivLoadError
from helpers.zarr_judges import (
    judge_viv,
    reference_pixels,
    refilter_with_delta,
    static_server,
    viv_zarr,
    write_reference_store,
)

from napari_viv import NapariVivError, check_file

pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def pixels():
    return reference_pixels((3, 300, 400))


def _attrs_file(store):
    return store / ("zarr.json" if (store / "zarr.json").exists() else ".zattrs")


def _edit_json(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def _multiscale(doc):
    return doc["attributes"]["ome"]["multiscales"][0] if "attributes" in doc else doc["multiscales"][0]


def _viv_fails(store):
    with static_server(store.parent) as base, pytest.raises(VivLoadError) as err:
        viv_zarr(f"{base}/{store.name}")
    return str(err.value)


def _messages(report):
    return " | ".join(f.message for f in report.errors)


@pytest.mark.parametrize(
    "kind",
    [{"version": "0.4"}, {"version": "0.5"}, {"version": "0.5", "shards": (1, 256, 256)}],
    ids=["0.4", "0.5", "0.5-sharded"],
)
def test_reference_stores_pass_and_viv_agrees(tmp_path, pixels, kind):
    store = write_reference_store(tmp_path / "ok.ome.zarr", pixels, **kind)
    report = check_file(store)
    assert report.ok, _messages(report)
    # ome-zarr-py's default codec is zstd, which Viv, Avivator and our viewer all decode
    assert report.findings == []
    (line,) = report.images
    assert f"NGFF {kind['version']}" in line
    assert "channels DAPI, CD3, PanCK" in line
    assert ("sharded" in line) == ("shards" in kind)
    judge_viv(store)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_gzip_store_has_no_finding(tmp_path, pixels, version):
    import numcodecs
    from zarr.codecs import GzipCodec

    codec = numcodecs.GZip(level=1) if version == "0.4" else GzipCodec(level=1)
    store = write_reference_store(tmp_path / "gz.ome.zarr", pixels, version=version, compressor=codec, levels=2)
    report = check_file(store)
    assert report.findings == []
    assert "codec gzip" in report.images[0]
    judge_viv(store)


def test_plain_array_is_not_ome_zarr(tmp_path):
    import zarr

    store = tmp_path / "plain.zarr"
    zarr.create_array(str(store), shape=(64, 64), dtype="uint16", zarr_format=2)[...] = 1
    report = check_file(store)
    assert not report.ok
    assert "a plain Zarr array, not an OME-Zarr image" in _messages(report)
    assert "napari-viv convert" in report.errors[0].fix
    _viv_fails(store)


def test_group_without_ome_metadata(tmp_path, pixels):
    import zarr

    store = tmp_path / "bare.zarr"
    group = zarr.open_group(str(store), mode="w", zarr_format=2)
    group.create_array("0", data=pixels, chunks=(1, 128, 128))
    report = check_file(store)
    assert "without OME metadata ('multiscales')" in _messages(report)
    _viv_fails(store)  # Viv assumes 5-D t, c, z, y, x


def test_missing_level_array(tmp_path, pixels):
    store = write_reference_store(tmp_path / "cut.ome.zarr", pixels, version="0.5")
    shutil.rmtree(store / "s2")
    report = check_file(store)
    assert "level 2 ('s2') is listed in 'multiscales' but there is no array there" in _messages(report)
    _viv_fails(store)


def test_inconsistent_multiscales_axes(tmp_path, pixels):
    store = write_reference_store(tmp_path / "axes.ome.zarr", pixels)
    _edit_json(_attrs_file(store), lambda d: _multiscale(d)["axes"].pop(0))
    assert "'axes' names 2 dimensions but level 0 has 3" in _messages(check_file(store))
    with static_server(store.parent) as base:
        report = viv_zarr(f"{base}/{store.name}")
    # Viv takes 2 labels for 3 dimensions and returns one plane: channels 1 and 2 are lost
    level0 = report["images"][0]["levels"][0]
    assert report["images"][0]["labels"] == ["y", "x"] and len(level0["planes"]) == 1


def test_repeated_axis_names(tmp_path, pixels):
    store = write_reference_store(tmp_path / "twice.ome.zarr", pixels)
    _edit_json(_attrs_file(store), lambda d: _multiscale(d)["axes"][0].update(name="x"))
    assert "axis names repeat" in _messages(check_file(store))
    assert "Labels must be unique" in _viv_fails(store)


def test_axis_order_viv_does_not_accept(tmp_path, pixels):
    """Viv ignores the names and reads the last two dimensions as y and x: the image comes out transposed."""
    store = write_reference_store(tmp_path / "xy.ome.zarr", pixels)

    def swap(doc):
        axes = _multiscale(doc)["axes"]
        axes[1]["name"], axes[2]["name"] = "x", "y"

    _edit_json(_attrs_file(store), swap)
    assert "Viv reads the last two dimensions as y and x" in _messages(check_file(store))
    with static_server(store.parent) as base:
        report = viv_zarr(f"{base}/{store.name}", pixels=False)
    level0 = report["images"][0]["levels"][0]
    labels = report["images"][0]["labels"]
    # the loader's "height" is the axis the store names x
    assert labels[1] == "x" and level0["shape"][1] == pixels.shape[1]


def test_chunks_that_are_not_planes(tmp_path, pixels):
    """Viv's loader reads them; Avivator does not (viv #876), so the check calls it an error."""
    store = write_reference_store(tmp_path / "cube.ome.zarr", pixels, chunks=(3, 128, 128))
    report = check_file(store)
    errors = [f for f in report.errors if "not single planes" in f.message]
    assert len(errors) == 1  # said once, not per level
    assert "chunks are 3 x 128 x 128 (c, y, x)" in errors[0].message
    judge_viv(store)


@pytest.mark.parametrize("dtype", ["float16", "int64"])
def test_dtypes_viv_cannot_draw(tmp_path, dtype):
    data = reference_pixels((2, 64, 64)).astype(dtype)
    store = write_reference_store(tmp_path / f"{dtype}.ome.zarr", data, levels=1, chunks=(1, 64, 64))
    assert f"the data type is {dtype}" in _messages(check_file(store))
    if dtype == "float16":
        assert "float16" in _viv_fails(store)
    else:  # the loader reads it, but Viv has no texture format for it
        with static_server(store.parent) as base:
            level0 = viv_zarr(f"{base}/{store.name}", pixels=False)["images"][0]["levels"][0]
        assert level0["dtype"] == "Int64"


def test_codec_viv_cannot_decode(tmp_path, pixels):
    store = write_reference_store(tmp_path / "delta.ome.zarr", pixels, levels=1)
    refilter_with_delta(store, ["s0"], chunks=(1, 128, 128))
    assert "codec delta: Viv's Zarr reader (zarrita) cannot decode it" in _messages(check_file(store))
    assert "Unknown codec: delta" in _viv_fails(store)


def test_shard_index_viv_cannot_read(tmp_path, pixels):
    store = write_reference_store(tmp_path / "front.ome.zarr", pixels, version="0.5", shards=(1, 256, 256), levels=1)
    # rewrite level 0 with its shard index at the front
    import zarr
    from zarr.codecs import BytesCodec, Crc32cCodec, ShardingCodec, ZstdCodec

    group = zarr.open_group(str(store), mode="a")
    sharding = ShardingCodec(
        chunk_shape=(1, 128, 128),
        codecs=[BytesCodec(), ZstdCodec()],
        index_codecs=[BytesCodec(), Crc32cCodec()],
        index_location="start",
    )
    arr = group.create_array(
        "s0",
        shape=pixels.shape,
        dtype=pixels.dtype,
        chunks=(1, 256, 256),
        serializer=sharding,
        compressors=None,
        overwrite=True,
    )
    arr[...] = pixels
    assert "shard index is not at the end" in _messages(check_file(store))
    with pytest.raises((VivLoadError, AssertionError)):
        judge_viv(store)


def test_levels_not_halved(tmp_path, pixels):
    store = write_reference_store(tmp_path / "skip.ome.zarr", pixels, levels=3)
    _edit_json(_attrs_file(store), lambda d: _multiscale(d)["datasets"].pop(1))
    assert "level 1 (75 x 100) is not level 0 (300 x 400) halved" in _messages(check_file(store))


def test_no_omero_is_an_avivator_error(tmp_path, pixels):
    store = write_reference_store(tmp_path / "bare.ome.zarr", pixels, channels=None, levels=2)
    report = check_file(store)
    assert "no 'omero' channel metadata" in _messages(report)
    assert "Avivator fails" in _messages(report)
    report_viv = judge_viv(store)  # the loader itself opens it: the failure is Avivator's
    assert report_viv["images"][0]["omero"] is None
    # the fix's command, run as given, writes the channels
    (finding,) = [f for f in report.errors if "omero" in f.message]
    command = finding.fix.split("`")[1].split()
    assert command[:2] == ["napari-viv", "convert"]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr
    assert check_file(tmp_path / command[3]).ok


def test_folder_that_is_not_a_store(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(NapariVivError, match="folder") as err:
        check_file(tmp_path / "images")
    assert err.value.subject == str(tmp_path / "images")
    assert "no such file" not in str(err.value)


def test_check_reads_no_chunk(tmp_path, pixels):
    """Metadata only: deleting every chunk changes nothing in the verdict."""
    store = write_reference_store(tmp_path / "meta.ome.zarr", pixels, levels=2)
    before = check_file(store).to_dict()
    for chunk in [p for p in store.rglob("*") if p.is_file() and not p.name.startswith((".z", "zarr.json"))]:
        chunk.unlink()
    after = check_file(store).to_dict()
    assert after == before


def _codec_cases():
    """(Zarr format, codec) pairs Viv's zarrita decodes, each written by zarr-python."""
    import numcodecs
    from zarr.codecs import BloscCodec, GzipCodec, ZstdCodec

    return {
        "v2-zlib": (2, numcodecs.Zlib(level=1)),
        "v2-gzip": (2, numcodecs.GZip(level=1)),
        "v2-zstd": (2, numcodecs.Zstd(level=1)),
        "v2-lz4": (2, numcodecs.LZ4()),
        "v2-blosc-zstd": (2, numcodecs.Blosc(cname="zstd", clevel=1, shuffle=numcodecs.Blosc.SHUFFLE)),
        "v2-blosc-lz4": (2, numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.BITSHUFFLE)),
        "v3-gzip": (3, GzipCodec(level=1)),
        "v3-zstd": (3, ZstdCodec(level=1)),
        "v3-blosc-zstd": (3, BloscCodec(cname="zstd", clevel=1, shuffle="shuffle")),
    }


@pytest.mark.parametrize("case", list(_codec_cases()))
def test_codecs_viv_decodes(tmp_path, pixels, case):
    """The finding in docs/viv-rules.md: every codec here reads back exactly in the real loader."""
    import zarr

    zarr_format, codec = _codec_cases()[case]
    store = write_reference_store(
        tmp_path / "codec.ome.zarr", pixels, version="0.4" if zarr_format == 2 else "0.5", levels=1
    )
    group = zarr.open_group(str(store), mode="a")
    group.create_array(
        "s0", shape=pixels.shape, dtype=pixels.dtype, chunks=(1, 128, 128), overwrite=True, compressors=codec
    )[...] = pixels
    report = check_file(store)
    assert report.ok and report.findings == []  # our viewer decodes every one of them too
    judge_viv(store)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_blosc_with_blosclz_warns_that_our_viewer_does_not_decode_it(tmp_path, pixels, version):
    """Viv decodes Blosc with blosclz inside, our viewer only zstd, lz4, lz4hc and zlib."""
    import numcodecs
    from zarr.codecs import BloscCodec

    codec = numcodecs.Blosc(cname="blosclz") if version == "0.4" else BloscCodec(cname="blosclz")
    store = write_reference_store(tmp_path / "lz.ome.zarr", pixels, version=version, compressor=codec, levels=2)
    report = check_file(store)
    assert report.ok, _messages(report)
    (warning,) = report.findings
    assert warning.severity == "warning"
    assert warning.message.startswith("codec blosc with blosclz: Viv and Avivator decode it"), warning.message
    assert "Avivator" in warning.fix and "napari-viv convert" in warning.fix
    judge_viv(store)
