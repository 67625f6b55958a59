"""Avivator links, SSH hints and caveat strings."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from napari_viv.errors import NapariVivError
from napari_viv.serve import links as avivator
from napari_viv.serve.links import avivator_link, avivator_origin, ssh_hint


def image_url_of(link):
    return parse_qs(urlsplit(link).query)["image_url"]


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    for name in ("NAPARI_VIV_AVIVATOR_URL", "SSH_CONNECTION", "SSH_CLIENT"):
        monkeypatch.delenv(name, raising=False)


def test_link_to_public_avivator_round_trips_the_url():
    url = "http://127.0.0.1:8123/my image.ome.tif?token=a&b=c#frag"
    link = avivator_link(url)
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "avivator.gehlenborglab.org", "/")
    # Avivator reads URLSearchParams(location.search).get("image_url")
    assert image_url_of(link) == [url]
    assert "#" not in link and " " not in link
    assert link.count("&") == 0  # the file URL's own & is encoded


def test_simple_link_is_readable():
    link = avivator_link("http://127.0.0.1:8000/x.ome.tif")
    assert link == "https://avivator.gehlenborglab.org/?image_url=http://127.0.0.1:8000/x.ome.tif"


def test_self_hosted_base_by_argument_and_env(monkeypatch):
    url = "http://localhost:9/x.ome.tif"
    link = avivator_link(url, base="http://viv.lab.example:8080/avivator/?theme=dark")
    parts = urlsplit(link)
    assert parts.netloc == "viv.lab.example:8080" and parts.path == "/avivator/"
    assert parse_qs(parts.query) == {"theme": ["dark"], "image_url": [url]}
    monkeypatch.setenv("NAPARI_VIV_AVIVATOR_URL", "https://mine.example/viv")
    assert avivator_link(url).startswith("https://mine.example/viv?image_url=")
    assert avivator_origin() == "https://mine.example"
    with pytest.raises(NapariVivError):
        avivator_link(url, base="ftp://nope")


def test_no_ssh_hint_on_a_local_session():
    assert ssh_hint(8123, "/x.ome.tif", environ={}) is None
    assert not avivator.in_ssh_session({})


def test_ssh_hint_from_ssh_connection():
    env = {"SSH_CONNECTION": "10.0.0.5 52144 192.168.1.20 22"}
    hint = ssh_hint(41234, "/x y.ome.tif", user="ada", environ=env)
    assert hint.command == "ssh -L 41234:localhost:41234 ada@192.168.1.20"
    assert image_url_of(hint.link) == ["http://localhost:41234/x y.ome.tif"]
    assert hint.viewer == "http://localhost:41234/?image=/x%20y.ome.tif"  # quoted once
    text = hint.text()
    assert hint.command in text and hint.link in text
    assert text.index(hint.viewer) < text.index(hint.link)  # our viewer first


def test_ssh_hint_local_port_and_fqdn_fallback(monkeypatch):
    monkeypatch.setattr(avivator.socket, "getfqdn", lambda: "node7.cluster.example")
    monkeypatch.setattr(avivator.getpass, "getuser", lambda: "grace")
    hint = ssh_hint(5000, "x.ome.tif", local_port=8000, environ={"SSH_CLIENT": "10.0.0.5 52144 22"})
    assert hint.command == "ssh -L 8000:localhost:5000 grace@node7.cluster.example"
    assert image_url_of(hint.link) == ["http://localhost:8000/x.ome.tif"]
    assert hint.local_port == 8000


def test_ssh_detected_from_the_real_environment(monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "1.2.3.4 5 6.7.8.9 22")
    assert avivator.in_ssh_session()
    assert ssh_hint(1, "/a.ome.tif").command.endswith("@6.7.8.9")


def test_browser_caveats_name_the_browsers():
    text = " ".join(avivator.browser_caveats())
    assert "Safari" in text and "Chrome" in text and "local network" in text
    assert avivator.SAFARI_CAVEAT in avivator.BROWSER_CAVEATS


def test_bad_avivator_url_from_env_is_refused_by_links_and_server_alike(monkeypatch):
    from napari_viv.errors import NapariVivError
    from napari_viv.serve.server import default_allowed_origins

    monkeypatch.setenv("NAPARI_VIV_AVIVATOR_URL", "not-a-url")
    for call in (avivator.avivator_base, default_allowed_origins):
        with pytest.raises(NapariVivError, match="NAPARI_VIV_AVIVATOR_URL 'not-a-url' is not an http"):
            call()
