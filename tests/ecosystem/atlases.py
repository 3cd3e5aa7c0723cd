"""Helpers of the parity tests: importing the third-party libraries, the mirror's conte69 parcellations.

The third-party libraries are in the ``dev`` extra. A test whose library cannot be imported is skipped with
the reason; under ``CI=true`` it fails instead, since CI installs the ``dev`` extra.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import nibabel as nib
import numpy as np
import pytest

from ge2conn.data.format import BrainDataset
from ge2conn.data.recipes.common import parcel_means, read_gifti_vertices, sphere_coordinates

ENIGMA_DATASETS = "MICA-MNI/ENIGMA/enigmatoolbox/datasets"
APARC_NOT_REGIONS = (0, 4, 39)
"""FreeSurfer aparc ids on conte69 that are not DK regions: unknown and the corpus callosum (lh 4, rh 39)."""


def import_or_skip(module: str, why: str) -> ModuleType:
    """Import a parity library; skip with the reason when it is missing (fail under CI, which installs it)."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{module} is in the dev extra but cannot be imported in CI: {error}")
        pytest.skip(f"{module} cannot be imported ({error}); `pip install -e .[dev]` installs it ({why})")


@dataclass(frozen=True)
class SurfaceAtlas:
    """A conte69 32k parcellation from the mirror, with what ge2conn's recipes compute from it.

    Attributes:
        name: ENIGMA parcellation name (``aparc``, ``schaefer_100``, ...).
        vertex_labels: (64984,) parcel id per vertex, lh then rh.
        ids: Region ids in output order (lh then rh, increasing).
        hemisphere: (r,) "L" or "R".
        surfaces: Midthickness GIFTI paths (lh, rh).
        spheres: Sphere GIFTI paths (lh, rh).
        centroids: (r, 3) ge2conn's cortical centroids (midthickness parcel means, mm).
        sphere: (r, 3) ge2conn's spin coordinates (unit-length mean of the parcel's sphere vertices).
    """

    name: str
    vertex_labels: np.ndarray
    ids: list[int]
    hemisphere: np.ndarray
    surfaces: tuple[Path, Path]
    spheres: tuple[Path, Path]
    centroids: np.ndarray
    sphere: np.ndarray

    def brain(self) -> BrainDataset:
        """A cortex-only BrainDataset over the atlas (two dummy genes, zero FC) for the spin code."""
        count = len(self.ids)
        labels = np.array([f"{hemisphere}_{index}" for hemisphere, index in zip(self.hemisphere, self.ids,
                                                                                  strict=True)])
        cortex = np.full(count, "cortex")
        return BrainDataset(self.name, np.zeros((count, 2), np.float32), np.array(["A", "B"]),
                            np.array(["1", "1"]), np.array([1, 2]), np.array(["+", "+"]), labels,
                            self.hemisphere, cortex, cortex.copy(), self.centroids, self.sphere,
                            np.zeros((count, count), np.float32))

    def label_gifti(self, folder: Path) -> tuple[Path, Path]:
        """Write the parcellation as two GIFTI label files (lh, rh), as neuromaps and nilearn read them."""
        half = self.vertex_labels.size // 2
        paths = []
        for side, labels in (("lh", self.vertex_labels[:half]), ("rh", self.vertex_labels[half:])):
            table = nib.gifti.GiftiLabelTable()
            for value in np.unique(labels):
                entry = nib.gifti.GiftiLabel(int(value))
                # neuromaps skips parcels named in its PARCIGNORE list ("unknown", "corpuscallosum", ...).
                if value == 0:
                    entry.label = "unknown"
                elif self.name == "aparc" and int(value) in APARC_NOT_REGIONS:
                    entry.label = "corpuscallosum"
                else:
                    entry.label = f"p{value}"
                table.labels.append(entry)
            array = nib.gifti.GiftiDataArray(labels.astype(np.int32), intent="NIFTI_INTENT_LABEL",
                                             datatype="NIFTI_TYPE_INT32")
            path = folder / f"{self.name}_{side}.label.gii"
            nib.save(nib.gifti.GiftiImage(labeltable=table, darrays=[array]), path)
            paths.append(path)
        return paths[0], paths[1]


def surface_atlas(mirror: Path, name: str) -> SurfaceAtlas:
    """Load a conte69 parcellation of the mirror and compute ge2conn's centroids and sphere coordinates."""
    root = mirror / ENIGMA_DATASETS
    vertex_labels = np.loadtxt(root / "parcellations" / f"{name}_conte69.csv", dtype=np.int64)
    half = vertex_labels.size // 2
    ids, hemisphere = [], []
    for side, labels in (("L", vertex_labels[:half]), ("R", vertex_labels[half:])):
        present = [int(value) for value in np.unique(labels)
                   if value != 0 and not (name == "aparc" and value in APARC_NOT_REGIONS)]
        ids += present
        hemisphere += [side] * len(present)
    surfaces = (root / "surfaces" / "conte69_32k_lh.gii", root / "surfaces" / "conte69_32k_rh.gii")
    spheres = (root / "surfaces" / "conte69_32k_lh_sphere.gii",
               root / "surfaces" / "conte69_32k_rh_sphere.gii")
    midthickness = np.concatenate([read_gifti_vertices(path) for path in surfaces])
    sphere_vertices = np.concatenate([read_gifti_vertices(path) for path in spheres])
    return SurfaceAtlas(name, vertex_labels, ids, np.array(hemisphere), surfaces, spheres,
                        parcel_means(midthickness, vertex_labels, ids),
                        sphere_coordinates(sphere_vertices, vertex_labels, ids))
