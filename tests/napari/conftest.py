"""Fixtures for the napari glue tests: notifications and reference files.

Reference pyramids are written with tifffile directly (SubIFD levels, OME
metadata), independently of napari-viv's own writer, so the reader is
judged against files it did not make.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    """Never touch the real napari-viv settings; start each test with no last export."""
    from napari_viv._napari import settings

    monkeypatch.setenv(settings.ENV_VAR, str(tmp_path / "napari-viv-settings.json"))
    settings.remember_last_export(None)
    yield
    settings.remember_last_export(None)


@pytest.fixture
def notifications():
    """Every napari notification dispatched during the test: (severity, text)."""
    from napari.utils.notifications import notification_manager

    seen: list[tuple[str, str]] = []

    def record(event):
        seen.append((str(event.severity), str(event.message)))

    notification_manager.notification_ready.connect(record)
    yield seen
    notification_manager.notification_ready.disconnect(record)
