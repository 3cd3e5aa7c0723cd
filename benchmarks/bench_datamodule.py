"""Throughput of EdgePairDataModule: batches/s of the data pipeline vs a trivial model step.

Builds a synthetic dataset in a temporary folder (484 regions by default, which gives ~100k training edges in
both orientations on the default random split), then times, for one epoch of batches of 512:

1. ``pipeline``: the train dataloader plus the transfer to the device and ``on_after_batch_transfer``;
2. ``pipeline + augmentation``: the same with the TargetAugmentation callback's per-batch work (p = 1);
3. ``model step``: a trivial MLP (2g → 16 → 1) on [x_i ‖ x_j] (forward, backward, AdamW) on one fixed batch;
4. ``pipeline + model step``: both, as a training loop would run them;
5. ``Trainer.fit``: one epoch through Lightning (validation disabled).

Run: ``PYTHONPATH=. python benchmarks/bench_datamodule.py [--device cuda] [--genes 7380]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from lightning.pytorch import LightningModule, Trainer
from torch import Tensor, nn

from ge2conn.callbacks.augmentation import TargetAugmentation
from ge2conn.data.datamodule import EdgePairDataModule
from ge2conn.data.format import BrainDataset


def make_dataset(path: Path, regions: int, genes: int, subjects: int) -> Path:
    rng = np.random.default_rng(0)
    centroids = rng.normal(scale=40.0, size=(regions, 3))
    expression = rng.random((regions, genes), dtype=np.float32)
    distance = np.linalg.norm(centroids[:, None] - centroids[None], axis=-1)
    population = (0.1 + 0.6 * np.exp(-distance / 40.0)).astype(np.float32)
    np.fill_diagonal(population, 0.0)
    noise = rng.normal(scale=0.05, size=(subjects, regions, regions)).astype(np.float32)
    individual = population[None] + (noise + noise.transpose(0, 2, 1)) / 2
    half = regions // 2
    return BrainDataset(
        name="bench", expression=expression,
        gene_symbols=np.array([f"G{index}" for index in range(genes)]),
        gene_chromosomes=np.array(["1"] * genes), gene_tss=np.arange(1, genes + 1, dtype=np.int64),
        gene_strands=np.array(["+"] * genes),
        region_labels=np.array([f"R{index}" for index in range(regions)]),
        hemisphere=np.array(["L"] * half + ["R"] * (regions - half)),
        structure=np.array(["cortex"] * regions), network=np.array(["Vis"] * regions),
        centroids=centroids, sphere=np.full((regions, 3), np.nan), connectivity=population,
        individual=individual, subjects=np.array([f"s{index}" for index in range(subjects)]),
    ).save(path)


class TrivialModel(LightningModule):
    def __init__(self, genes: int) -> None:
        super().__init__()
        self.network = nn.Sequential(nn.Linear(2 * genes, 16), nn.ReLU(), nn.Linear(16, 1))

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        expression = batch["expression"]
        features = torch.cat([expression[batch["rows"]], expression[batch["cols"]]], dim=1)
        return nn.functional.mse_loss(self.network(features).squeeze(1), batch["target"])

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=1e-4)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device: torch.device, run: Callable[[], int], repeats: int) -> tuple[int, float]:
    """Best of ``repeats`` timed runs after a warm-up (the best is the least disturbed by other load)."""
    run()
    best = float("inf")
    count = 0
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        count = run()
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return count, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=484)
    parser.add_argument("--genes", type=int, default=1000)
    parser.add_argument("--subjects", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    device = torch.device(arguments.device)
    if device.type == "cpu":
        torch.set_num_threads(min(2, torch.get_num_threads()))

    with tempfile.TemporaryDirectory() as folder:
        path = make_dataset(Path(folder) / "bench.h5", arguments.regions, arguments.genes, arguments.subjects)
        datamodule = EdgePairDataModule(dataset=str(path), batch_size=arguments.batch_size)
        datamodule.setup("fit")
        datamodule.individual_connectivity(device)
        augmentation = TargetAugmentation("constant", p_max=1.0)
        model = TrivialModel(datamodule.num_genes).to(device)
        optimizer = model.configure_optimizers()
        print(f"device {device}, {datamodule.num_regions} regions × {datamodule.num_genes} genes, "
              f"{datamodule.train_edges.shape[0]} training edges, batch {arguments.batch_size}, "
              f"torch threads {torch.get_num_threads()}")

        def batches() -> list[dict[str, Tensor]]:
            return [datamodule.on_after_batch_transfer(edges.to(device, non_blocking=True), 0)
                    for edges in datamodule.train_dataloader()]

        def pipeline() -> int:
            return len(batches())

        def pipeline_augmented() -> int:
            count = 0
            for batch in batches():
                augmentation.augment(datamodule, batch)
                count += 1
            return count

        fixed = batches()[0]

        def step(batch: dict[str, Tensor]) -> None:
            optimizer.zero_grad(set_to_none=True)
            model.training_step(batch, 0).backward()
            optimizer.step()

        def model_only() -> int:
            for _ in range(len(datamodule.train_batches())):
                step(fixed)
            return len(datamodule.train_batches())

        def pipeline_and_model() -> int:
            count = 0
            for edges in datamodule.train_dataloader():
                step(datamodule.on_after_batch_transfer(edges.to(device, non_blocking=True), 0))
                count += 1
            return count

        results = {
            "pipeline": timed(device, pipeline, arguments.repeats),
            "pipeline + augmentation": timed(device, pipeline_augmented, arguments.repeats),
            "model step (fixed batch)": timed(device, model_only, arguments.repeats),
            "pipeline + model step": timed(device, pipeline_and_model, arguments.repeats),
        }
        trainer = Trainer(accelerator=device.type, devices=1, max_epochs=1, limit_val_batches=0, logger=False,
                          enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
        start = time.perf_counter()
        trainer.fit(TrivialModel(datamodule.num_genes), datamodule=datamodule)
        synchronize(device)
        results["Trainer.fit (1 epoch, incl. startup)"] = (len(datamodule.train_batches()),
                                                            time.perf_counter() - start)
        for name, (count, seconds) in results.items():
            print(f"{name:40s} {count:5d} batches in {seconds:7.3f} s = {count / seconds:9.1f} batches/s "
                  f"({count * arguments.batch_size / seconds / 1e6:6.2f} M edges/s)")


if __name__ == "__main__":
    main()
