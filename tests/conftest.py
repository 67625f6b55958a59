"""Shared fixtures. Tests that need Node or Bio-Formats say why they skip."""

from __future__ import annotations

import os

import pytest
from helpers.vivjs import node_missing_reason  # noqa: E402


def pytest_collection_modifyitems(config, items):
    reason = node_missing_reason()
    # In CI every dependency is installed by .ci/run: a missing one is a
    # failure, not a skip.
    in_ci = os.environ.get("CI") == "true"
    for item in items:
        if "node" in item.keywords and reason and not in_ci:  # in CI the test runs and fails loudly
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def viv():
    """The real Viv loader: ``viv(path_or_url, offsets=None, pixels=True)``."""
    from helpers.vivjs import viv_load

    return viv_load


@pytest.fixture
def readonly_folder(tmp_path):
    """A folder nobody can write into, even root (CI runs as root).

    As a normal user it is a mode-555 folder; as root it is a read-only bind
    mount of an empty folder, removed afterwards.
    """
    import subprocess

    folder = tmp_path / "readonly"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-o", "bind,ro", str(folder), str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"root cannot make a read-only folder here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)
