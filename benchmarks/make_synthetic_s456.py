"""A synthetic dataset of the paper's S456 size, for benchmarks: 456 regions × 7,380 genes.

400 cortical regions (200 left, 200 right) sit on a sphere-like layout: each hemisphere's regions have
near-uniform unit-sphere coordinates (a jittered Fibonacci lattice; the right sphere mirrors the left) and
MNI centroids on a half-ellipsoid shell around the hemisphere's centre. 46 subcortical regions (23 per
hemisphere) and 10 cerebellar regions (5 per hemisphere) are scattered around their usual MNI locations.

Expression is spatially smooth: each gene mixes Gaussian-process fields over the MNI centroids (short and
long length scales, mostly bilaterally symmetric), a structure-specific profile and region noise, then is
scaled to [0, 1] per gene, so correlated gene expression decays with distance. FC is Fisher-z-like in
[-0.2, 1.4]: a distance decay, Yeo-like network blocks, homotopic pairs, weaker subcortical edges, a
small expression-driven term and noise, with a zero diagonal.

Usage: ``python benchmarks/make_synthetic_s456.py OUTPUT.h5`` (deterministic; ``--seed`` to vary).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ge2conn.data.format import BrainDataset

NUM_CORTICAL_PER_HEMISPHERE = 200
NUM_SUBCORTICAL_PER_HEMISPHERE = 23
NUM_CEREBELLAR_PER_HEMISPHERE = 5
NUM_GENES = 7380
NETWORKS = ("Vis", "SomMot", "DorsAttn", "SalVentAttn", "Limbic", "Cont", "Default")
CHROMOSOMES = tuple(str(number) for number in range(1, 23)) + ("X",)


def _fibonacci_sphere(count: int, rng: np.random.Generator) -> np.ndarray:
    index = np.arange(count) + 0.5
    polar = np.arccos(1.0 - 2.0 * index / count)
    azimuth = np.pi * (1.0 + 5.0**0.5) * index
    points = np.stack([np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)], 1)
    points += rng.normal(scale=0.03, size=points.shape)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def _gaussian_fields(points: np.ndarray, length_mm: float, count: int,
                     rng: np.random.Generator) -> np.ndarray:
    """``count`` samples of a zero-mean Gaussian process with a squared-exponential kernel at ``points``."""
    squared = ((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1)
    kernel = np.exp(-squared / (2.0 * length_mm**2)) + 1e-6 * np.eye(points.shape[0])
    return np.linalg.cholesky(kernel) @ rng.standard_normal((points.shape[0], count))


def make_synthetic_s456(seed: int = 0) -> BrainDataset:
    """Build the synthetic S456 dataset in memory (deterministic for a given seed).

    Args:
        seed: Random seed.

    Returns:
        The dataset, validated.
    """
    rng = np.random.default_rng(seed)
    cortex = NUM_CORTICAL_PER_HEMISPHERE
    left_sphere = _fibonacci_sphere(cortex, rng)
    right_sphere = left_sphere * np.array([-1.0, 1.0, 1.0]) + rng.normal(scale=0.02, size=(cortex, 3))
    right_sphere /= np.linalg.norm(right_sphere, axis=1, keepdims=True)
    # Shell of a hemisphere: centre (-32, -18, 14), radii 30 (lateral), 68 (anterior-posterior), 45 mm.
    radii = np.array([30.0, 68.0, 45.0])
    left_centroids = np.array([-32.0, -18.0, 14.0]) + left_sphere * radii
    right_centroids = (np.array([32.0, -18.0, 14.0]) + right_sphere * radii
                       + rng.normal(scale=1.5, size=(cortex, 3)))
    subcortical, cerebellar = NUM_SUBCORTICAL_PER_HEMISPHERE, NUM_CEREBELLAR_PER_HEMISPHERE
    left_subcortex = np.array([-15.0, -10.0, 0.0]) + rng.normal(size=(subcortical, 3)) * [6.0, 10.0, 8.0]
    right_subcortex = left_subcortex * [-1.0, 1.0, 1.0] + rng.normal(scale=1.5, size=(subcortical, 3))
    left_cerebellum = np.array([-25.0, -65.0, -38.0]) + rng.normal(size=(cerebellar, 3)) * [10.0, 10.0, 8.0]
    right_cerebellum = left_cerebellum * [-1.0, 1.0, 1.0] + rng.normal(scale=1.5, size=(cerebellar, 3))
    centroids = np.concatenate([left_centroids, right_centroids, left_subcortex, right_subcortex,
                                left_cerebellum, right_cerebellum])
    num_regions = centroids.shape[0]
    num_cortical = 2 * cortex
    sphere = np.full((num_regions, 3), np.nan)
    sphere[:num_cortical] = np.concatenate([left_sphere, right_sphere])
    structure = np.array(["cortex"] * num_cortical + ["subcortex"] * (2 * subcortical)
                         + ["cerebellum"] * (2 * cerebellar))
    hemisphere = np.array(["L"] * cortex + ["R"] * cortex + ["L"] * subcortical + ["R"] * subcortical
                          + ["L"] * cerebellar + ["R"] * cerebellar)

    # Networks: nearest of seven fixed directions on the (mirrored) sphere, so networks are bilateral.
    network_directions = _fibonacci_sphere(len(NETWORKS), np.random.default_rng(seed + 1))
    mirrored_sphere = sphere[:num_cortical].copy()
    mirrored_sphere[cortex:, 0] *= -1.0
    network_index = np.argmax(mirrored_sphere @ network_directions.T, axis=1)
    network = np.array([NETWORKS[index] for index in network_index] + ["Subcortical"] * (2 * subcortical)
                       + ["Cerebellum"] * (2 * cerebellar))

    # Expression: Gaussian-process fields on mirrored coordinates (bilateral symmetry) and on the plain
    # coordinates, structure profiles, region noise; each gene is a random mix of them.
    mirrored = centroids.copy()
    mirrored[:, 0] = np.abs(mirrored[:, 0])
    num_fields = 60
    fields = np.concatenate([_gaussian_fields(mirrored, 18.0, num_fields, rng),
                             _gaussian_fields(mirrored, 45.0, num_fields, rng),
                             0.5 * _gaussian_fields(centroids, 30.0, num_fields // 2, rng)], axis=1)
    structure_profile = np.stack([structure == name for name in ("cortex", "subcortex", "cerebellum")], 1)
    loadings = rng.normal(size=(fields.shape[1], NUM_GENES)) / np.sqrt(fields.shape[1])
    structure_loadings = rng.normal(scale=1.2, size=(3, NUM_GENES))
    expression = (fields @ loadings + structure_profile.astype(float) @ structure_loadings
                  + 0.6 * rng.standard_normal((num_regions, NUM_GENES)))
    expression = (expression - expression.min(0)) / (expression.max(0) - expression.min(0))

    distance = np.sqrt(((centroids[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=-1))
    same_network = network[:, None] == network[None, :]
    homotopic = np.zeros((num_regions, num_regions), dtype=bool)
    pairs = [(np.arange(cortex), np.arange(cortex, num_cortical)),
             (num_cortical + np.arange(subcortical), num_cortical + subcortical + np.arange(subcortical)),
             (num_cortical + 2 * subcortical + np.arange(cerebellar),
              num_cortical + 2 * subcortical + cerebellar + np.arange(cerebellar))]
    for left, right in pairs:
        homotopic[left, right] = homotopic[right, left] = True
    latent = (expression - expression.mean(0)) @ rng.normal(scale=0.02, size=(NUM_GENES, 3))
    connectivity = (0.08 + 0.55 * np.exp(-distance / 22.0) + 0.3 * same_network + 0.35 * homotopic
                    + latent @ latent.T)
    weak = structure != "cortex"
    connectivity[weak] *= 0.45
    connectivity[:, weak] *= 0.45
    noise = rng.normal(scale=0.06, size=connectivity.shape)
    connectivity = np.clip((connectivity + connectivity.T) / 2 + (noise + noise.T) / 2, -0.2, 1.4)
    np.fill_diagonal(connectivity, 0.0)

    labels = ([f"LH_{network[index]}_{index + 1}" for index in range(cortex)]
              + [f"RH_{network[cortex + index]}_{index + 1}" for index in range(cortex)]
              + [f"LH_Subcortex_{index + 1}" for index in range(subcortical)]
              + [f"RH_Subcortex_{index + 1}" for index in range(subcortical)]
              + [f"LH_Cerebellum_{index + 1}" for index in range(cerebellar)]
              + [f"RH_Cerebellum_{index + 1}" for index in range(cerebellar)])
    per_chromosome = np.diff(np.linspace(0, NUM_GENES, len(CHROMOSOMES) + 1).astype(int))
    chromosomes = np.repeat(np.array(CHROMOSOMES), per_chromosome)
    tss = np.concatenate([np.sort(rng.choice(2 * 10**8, size=count, replace=False))
                          for count in per_chromosome])
    dataset = BrainDataset(
        name="synthetic_s456",
        expression=expression.astype(np.float32),
        gene_symbols=np.array([f"SYN{index:05d}" for index in range(NUM_GENES)]),
        gene_chromosomes=chromosomes,
        gene_tss=tss.astype(np.int64),
        gene_strands=np.where(rng.random(NUM_GENES) < 0.5, "+", "-"),
        region_labels=np.array(labels),
        hemisphere=hemisphere,
        structure=structure,
        network=network,
        centroids=centroids,
        sphere=sphere,
        connectivity=connectivity.astype(np.float32),
        provenance={"recipe": "benchmarks/make_synthetic_s456.py", "seed": seed, "fc_transform": "synthetic"},
    )
    dataset.validate()
    return dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="destination .h5 file")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"wrote {make_synthetic_s456(args.seed).save(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
