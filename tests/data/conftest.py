"""Data tests never touch the internet: the download cache is a fresh folder and no mirror is known
unless a test sets one (the download tests serve files from a local HTTP server)."""

import pytest


@pytest.fixture(autouse=True)
def _offline_cache(tmp_path_factory, monkeypatch):
    from generativa.data import download

    monkeypatch.setenv("GENERATIVA_DATA", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setattr(download, "MIRRORS", {name: () for name in download.MIRRORS})
