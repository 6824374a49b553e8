"""The built image, once per test run: reused from the cache when its inputs are unchanged, else built here."""

import contextlib
from pathlib import Path

import pytest

from tests.cluster import image


@pytest.fixture(scope="session")
def archive(request: pytest.FixtureRequest) -> Path:
    """The image's oci-archive; a cold build (a few minutes) shows its output instead of looking like a hang."""
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        return image.ensure_image()
