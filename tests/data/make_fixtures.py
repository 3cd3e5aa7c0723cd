"""Generate the tiny synthetic dataset used by unit tests: ``tests/data/synthetic.h5``.

24 regions (8 left + 8 right cortical, 4 + 4 subcortical) × 120 genes on three chromosomes, 6 individual
connectomes. The population FC has planted spatial structure (exponential distance decay) and molecular
structure (a low-rank bilinear term in expression), so every model family has something to learn.

Run ``python tests/data/make_fixtures.py`` to regenerate; the output is deterministic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ge2conn.data.format import BrainDataset

OUTPUT = Path(__file__).with_name("synthetic.h5")
NUM_CORTICAL_PER_HEMISPHERE = 8
NUM_SUBCORTICAL_PER_HEMISPHERE = 4
NUM_GENES = 120
NUM_SUBJECTS = 6
NETWORKS = ("Vis", "SomMot", "Default")


def make_synthetic_dataset(seed: int = 0) -> BrainDataset:
    """Build the synthetic dataset in memory.

    Args:
        seed: Random seed.

    Returns:
        The dataset (validated on save).
    """
    rng = np.random.default_rng(seed)
    # Cortical regions on a sphere of radius 70 mm around the origin; the left hemisphere has x < 0.
    left_directions = rng.normal(size=(NUM_CORTICAL_PER_HEMISPHERE, 3))
    left_directions[:, 0] = -np.abs(left_directions[:, 0]) - 0.3
    left_directions /= np.linalg.norm(left_directions, axis=1, keepdims=True)
    right_directions = left_directions * np.array([-1.0, 1.0, 1.0]) + rng.normal(scale=0.05, size=(8, 3))
    right_directions /= np.linalg.norm(right_directions, axis=1, keepdims=True)
    sphere_cortex = np.concatenate([left_directions, right_directions])
    centroid_cortex = 70.0 * sphere_cortex
    centroid_subcortex = rng.normal(scale=12.0, size=(2 * NUM_SUBCORTICAL_PER_HEMISPHERE, 3))
    centroid_subcortex[:4, 0] = -np.abs(centroid_subcortex[:4, 0]) - 8
    centroid_subcortex[4:, 0] = np.abs(centroid_subcortex[4:, 0]) + 8
    centroids = np.concatenate([centroid_cortex, centroid_subcortex])
    num_regions = centroids.shape[0]
    sphere = np.full((num_regions, 3), np.nan)
    sphere[:16] = sphere_cortex

    # Expression: smooth spatial gradients plus region noise, scaled to [0, 1] per gene.
    gradients = rng.normal(size=(3, NUM_GENES))
    expression = centroids / 70.0 @ gradients + 0.3 * rng.normal(size=(num_regions, NUM_GENES))
    expression = (expression - expression.min(0)) / (expression.max(0) - expression.min(0))

    distance = np.linalg.norm(centroids[:, None] - centroids[None], axis=-1)
    latent = (expression - expression.mean(0)) @ rng.normal(scale=0.06, size=(NUM_GENES, 2))
    population = 0.15 + 0.5 * np.exp(-distance / 40.0) + latent @ latent.T
    population = (population + population.T) / 2
    np.fill_diagonal(population, 0.0)
    noise = rng.normal(scale=0.08, size=(NUM_SUBJECTS, num_regions, num_regions))
    individual = population[None] + (noise + noise.transpose(0, 2, 1)) / 2
    for subject in range(NUM_SUBJECTS):
        np.fill_diagonal(individual[subject], 0.0)
    individual[:, 16:, :] = np.nan  # like cubnm: subcortical rows missing in individual matrices
    individual[:, :, 16:] = np.nan

    labels = [f"L_ctx{index}" for index in range(8)] + [f"R_ctx{index}" for index in range(8)]
    labels += [f"L_sctx{index}" for index in range(4)] + [f"R_sctx{index}" for index in range(4)]
    hemisphere = ["L"] * 8 + ["R"] * 8 + ["L"] * 4 + ["R"] * 4
    structure = ["cortex"] * 16 + ["subcortex"] * 8
    network = [NETWORKS[index % 3] for index in range(8)] * 2 + ["Subcortical"] * 8
    chromosomes = np.array(["1"] * 50 + ["2"] * 40 + ["X"] * 30)
    tss = np.concatenate([np.sort(rng.integers(1, 10**8, size=count)) for count in (50, 40, 30)])
    return BrainDataset(
        name="synthetic",
        expression=expression.astype(np.float32),
        gene_symbols=np.array([f"GENE{index:03d}" for index in range(NUM_GENES)]),
        gene_chromosomes=chromosomes,
        gene_tss=tss.astype(np.int64),
        gene_strands=np.array(["+", "-"] * (NUM_GENES // 2)),
        region_labels=np.array(labels),
        hemisphere=np.array(hemisphere),
        structure=np.array(structure),
        network=np.array(network),
        centroids=centroids,
        sphere=sphere,
        connectivity=population.astype(np.float32),
        individual=individual.astype(np.float32),
        subjects=np.array([f"sub-{index:02d}" for index in range(NUM_SUBJECTS)]),
        provenance={"recipe": "tests/data/make_fixtures.py", "seed": seed, "fc_transform": "synthetic"},
    )


if __name__ == "__main__":
    print(f"wrote {make_synthetic_dataset().save(OUTPUT)}")
