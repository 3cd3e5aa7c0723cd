"""EdgePairDataModule: region splits, device-resident region tensors and batches of edge indices.

Batch contract (after ``on_after_batch_transfer``), relied on by every task and callback: a dict with

- ``rows``, ``cols``: (B,) LongTensors of region indices;
- ``target``: (B,) float32, gathered on the device from the population connectome ``Y[rows, cols]``;
- ``expression``: the device-resident (R, G) float32 expression (the same tensor object every batch);
- ``coordinates``: the device-resident (R, 3) float32 MNI centroids (same object every batch).

Region indices refer to the regions the datamodule keeps: the file's regions minus those without
expression (dropped by :meth:`BrainDataset.load` with a warning) and, when ``structures`` is given, minus
other structures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np
import torch
from lightning.pytorch import LightningDataModule
from torch import Tensor
from torch.utils.data import DataLoader

from ge2conn.data.catalog import resolve_dataset
from ge2conn.data.edges import EvaluationEdgeBatches, TrainEdgeBatches, pairs_within
from ge2conn.data.errors import DatasetError
from ge2conn.data.format import STRUCTURES, BrainDataset
from ge2conn.data.region_table import RegionMetadata, RegionTable, read_gene_list
from ge2conn.data.samplers import BlockEdgeBatches
from ge2conn.data.splits import RegionSplit, make_region_split, whole_brain_split
from ge2conn.data.targets import Target, target_matrix, target_regions
from ge2conn.data.validation import DEFAULT_MIN_VAL_EDGES, validation_fraction, warn_if_few_validation_edges
from ge2conn.nulls.io import load_null_permutation, null_path_for

# Lightning's advice about workers and IterableDataset lengths does not apply to these loaders (whole
# batches, num_workers=0 by design): ge2conn.utils.warnings_policy silences it in the entry points.

_SHUFFLE_STREAM = 3  # seed stream of the permuted-expression control, distinct from splits and epochs


class EdgePairDataModule(LightningDataModule):
    """Serves region-pair batches for one split of one dataset.

    Args:
        dataset: Dataset name (e.g. ``"dk82"``) or path to a ``.h5`` file.
        split: ``"random"`` or ``"spatial"`` region split (method §2).
        split_round: Round (repetition) of the split, 0-based.
        fold: Outer fold, ``0 <= fold < num_folds``.
        num_folds: Number of outer folds.
        val_fraction: Share of the outer training regions held out for validation.
        batch_size: Training edges per batch.
        seed: Seed of the split, the per-epoch edge order and the permuted-expression control.
        null_rank: Use the null brain of this rank (``X_null = X[permutation]``; Y is unchanged).
        nulls_path: Nulls file; defaults to ``ge2conn.nulls.null_path_for(dataset file)``.
        gene_list: Text file with one gene symbol per line (``#`` comments allowed); keeps only those genes.
        structures: Keep only regions of these structures, e.g. ``["cortex"]``.
        both_orientations: Train on (i, j) and (j, i); otherwise on i < j only. Evaluation uses i < j once.
        shuffle_expression: Permute the expression rows at random (the "permuted expression" control).
        eval_batch_size: Edges per validation/test/predict batch.
        whole_brain: Train on every region but a random validation subset (``val_fraction`` of all regions,
            drawn with ``seed``) and test on none: the transfer analysis, which evaluates on another
            dataset. ``split``, ``split_round``, ``fold`` and ``num_folds`` are then unused.
        target: ``"functional"`` connectivity (Y) or the dataset's ``"structural"`` matrix; the structural
            target keeps only regions with structural data and uses no individual connectomes
            (:mod:`ge2conn.data.targets`).
        sampler: How training edges form batches: ``"uniform"`` (a random permutation cut into batches) or
            ``"blocks"`` (the edges between two random groups of regions per batch, see
            :mod:`ge2conn.data.samplers`; far fewer distinct regions per batch). Both train on every edge
            once per epoch.
        min_val_edges: Enlarge the validation set (up to a quarter of the outer training regions) until it
            has this many edges, and warn when it cannot; 0 (the default) keeps ``val_fraction`` as is
            (see :mod:`ge2conn.data.validation`).
    """

    def __init__(
        self,
        dataset: str = "dk82",
        split: Literal["random", "spatial"] = "random",
        split_round: int = 0,
        fold: int = 0,
        num_folds: int = 4,
        val_fraction: float = 0.125,
        batch_size: int = 512,
        seed: int = 0,
        null_rank: int | None = None,
        nulls_path: str | None = None,
        gene_list: str | None = None,
        structures: list[str] | None = None,
        both_orientations: bool = True,
        shuffle_expression: bool = False,
        eval_batch_size: int = 4096,
        whole_brain: bool = False,
        target: Target = "functional",
        sampler: Literal["uniform", "blocks"] = "uniform",
        min_val_edges: int = DEFAULT_MIN_VAL_EDGES,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        if null_rank is not None and shuffle_expression:
            raise ValueError("null_rank and shuffle_expression are two different expression controls; "
                             "choose one")
        if null_rank is not None and null_rank < 0:
            raise ValueError(f"null_rank must be >= 0, got {null_rank}")
        if batch_size < 2 or eval_batch_size < 1:
            raise ValueError(f"batch_size must be >= 2 and eval_batch_size >= 1, got {batch_size}, "
                             f"{eval_batch_size}")
        if sampler not in ("uniform", "blocks"):
            raise ValueError(f"data.sampler must be 'uniform' or 'blocks', got {sampler!r}")
        self.sampler = sampler
        unknown = sorted(set(structures or []) - set(STRUCTURES))
        if unknown:
            raise ValueError(f"unknown structures {unknown}; use some of {STRUCTURES}")
        self.dataset_path = resolve_dataset(dataset)
        self.split_type = split
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.seed = seed
        self.both_orientations = both_orientations

        table = RegionTable.read(self.dataset_path)
        self.target = target
        self.num_subjects = table.num_subjects if target == "functional" else 0
        keep = table.has_expression & target_regions(self.dataset_path, target)
        if structures:
            keep &= np.isin(table.structure, structures)
        if not keep.any():
            raise DatasetError(self.dataset_path, "regions/structure", f"no region with expression among "
                               f"structures {structures}", "choose structures present in the dataset")
        # Kept regions as file indices, and the file indices of the regions BrainDataset.load keeps.
        self._file_regions = np.flatnonzero(keep)
        self._loaded_file_regions = np.flatnonzero(table.has_expression)
        self._genes = np.arange(table.gene_symbols.size)
        if gene_list is not None:
            self._genes = read_gene_list(gene_list, table.gene_symbols, self.dataset_path)
        self.region_metadata: RegionMetadata = table.metadata(self._file_regions)
        self.num_regions = int(self._file_regions.size)
        self.num_genes = int(self._genes.size)
        def make_split(fraction: float) -> RegionSplit:
            if whole_brain:
                return whole_brain_split(self.num_regions, fraction, seed)
            return make_region_split(self.region_metadata.centroids, split, split_round, fold, num_folds,
                                     fraction, seed)

        self.split: RegionSplit = make_split(val_fraction)
        # Enough validation edges for the best epoch not to be noise (ge2conn.data.validation); the outer test
        # set does not depend on the validation share.
        outer_train = self.split.train.size + self.split.val.size
        effective_fraction = validation_fraction(outer_train, val_fraction, min_val_edges)
        if effective_fraction != val_fraction:
            self.split = make_split(effective_fraction)
        warn_if_few_validation_edges(self.split.val.size, min_val_edges, str(dataset))
        train_centroids = self.region_metadata.centroids[self.split.train]
        self.coordinate_mean: list[float] = [float(value) for value in train_centroids.mean(axis=0)]
        # Population SD; the floor keeps standardization finite for degenerate (e.g. planar) layouts.
        self.coordinate_std: list[float] = [float(max(value, 1e-6)) for value in train_centroids.std(axis=0)]

        self.train_edges = torch.from_numpy(pairs_within(self.split.train, both_orientations))
        self.val_edges = torch.from_numpy(pairs_within(self.split.val))
        self.test_edges = torch.from_numpy(pairs_within(self.split.test))
        self.predict_edges = torch.from_numpy(pairs_within(np.arange(self.num_regions)))
        self._arrays: dict[str, np.ndarray] = {}
        self._individual: np.ndarray | None = None
        self._device_tensors: dict[str, dict[str, Tensor]] = {}
        self._device_individual: dict[str, Tensor] = {}

    # ----------------------------------------------------------------------------------------- loading
    def setup(self, stage: str | None = None) -> None:
        """Load expression, coordinates and Y of the kept regions (once; later calls are no-ops).

        Args:
            stage: Lightning stage (unused: every stage needs the same arrays).
        """
        if self._arrays:
            return
        dataset = BrainDataset.load(self.dataset_path, individual=False)
        expression = dataset.expression
        if self.hparams["null_rank"] is not None:
            expression = expression[self._null_permutation(dataset.region_labels)]
        # The loaded dataset has the file's regions minus those without expression, in file order.
        local = np.searchsorted(self._loaded_file_regions, self._file_regions)
        dataset = dataset.select_regions(local)
        expression = expression[local][:, self._genes]
        if not np.array_equal(dataset.region_labels, self.region_metadata.labels):
            raise DatasetError(self.dataset_path, "regions/label", "regions changed since the datamodule was "
                               "created", "do not rewrite the dataset file while it is in use")
        if self.hparams["shuffle_expression"]:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, _SHUFFLE_STREAM]))
            expression = expression[rng.permutation(self.num_regions)]
        self._arrays = {
            "expression": np.ascontiguousarray(expression, dtype=np.float32),
            "coordinates": dataset.centroids.astype(np.float32),
            "sphere": dataset.sphere.astype(np.float32),
            "connectivity": target_matrix(dataset, self.target),
        }

    def _null_permutation(self, labels: np.ndarray) -> np.ndarray:
        nulls_path = self.hparams["nulls_path"]
        path = Path(nulls_path) if nulls_path is not None else Path(null_path_for(self.dataset_path))
        permutation = np.asarray(load_null_permutation(path, int(self.hparams["null_rank"]), labels))
        if permutation.shape != (labels.size,) or not np.array_equal(np.sort(permutation),
                                                                     np.arange(labels.size)):
            raise DatasetError(path, "null permutation", f"rank {self.hparams['null_rank']} is not a "
                               f"permutation of the dataset's {labels.size} regions",
                               "recompute the nulls for this dataset")
        return permutation.astype(np.int64)

    def _require_setup(self) -> dict[str, np.ndarray]:
        if not self._arrays:
            self.setup()
        return self._arrays

    def region_tensors(self, device: torch.device | str) -> dict[str, Tensor]:
        """The region tensors on a device, moved there once and cached.

        Args:
            device: Target device.

        Returns:
            ``expression`` (R, G), ``coordinates`` (R, 3), ``sphere`` (R, 3; NaN outside the cortex) and
            ``connectivity`` (R, R), all float32.
        """
        key = _device_key(device)
        if key not in self._device_tensors:
            self._device_tensors[key] = {name: torch.from_numpy(values).to(key)
                                         for name, values in self._require_setup().items()}
        return self._device_tensors[key]

    def individual_connectivity(self, device: torch.device | str) -> Tensor | None:
        """The individual connectome stack of the kept regions on a device (read lazily, cached).

        Args:
            device: Target device.

        Returns:
            (n, R, R) float32 with NaN for missing values, or None when the dataset has none.
        """
        if self.num_subjects == 0:
            return None
        key = _device_key(device)
        if key not in self._device_individual:
            if self._individual is None:
                grid = np.ix_(self._file_regions, self._file_regions)
                with h5py.File(self.dataset_path, "r") as file:
                    stack = file["connectivity/individual"]
                    # One subject (one HDF5 chunk) at a time bounds the peak memory to the kept stack.
                    self._individual = np.stack([np.asarray(stack[subject], dtype=np.float32)[grid]
                                                 for subject in range(stack.shape[0])])
            self._device_individual[key] = torch.from_numpy(self._individual).to(key)
        return self._device_individual[key]

    def training_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Numpy inputs of closed-form models: every unordered training pair once (i < j).

        Returns:
            ``(expression (R, G), coordinates (R, 3), rows (E,), cols (E,), targets (E,))`` with float64
            values (closed forms solve eigenproblems) and int64 indices; targets are ``Y[rows, cols]``.
        """
        arrays = self._require_setup()
        pairs = pairs_within(self.split.train)
        rows, cols = pairs[:, 0].copy(), pairs[:, 1].copy()
        return (arrays["expression"].astype(np.float64), arrays["coordinates"].astype(np.float64), rows, cols,
                arrays["connectivity"][rows, cols].astype(np.float64))

    # ------------------------------------------------------------------------------------ resume state
    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint must match to be resumed with this datamodule: the regions of each set.

        The edge order of an epoch follows ``(seed, epoch)`` and the epoch is in the trainer's loop state, so
        the seed and the region sets are all the datamodule adds to a checkpoint.

        Returns:
            The seed and the train/val/test region indices.
        """
        return {"seed": self.seed, "train": self.split.train.tolist(), "val": self.split.val.tolist(),
                "test": self.split.test.tolist()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Refuse to resume a checkpoint made on other regions (another fold, split or seed).

        Args:
            state_dict: What :meth:`state_dict` saved (absent from checkpoints of older versions).

        Raises:
            ValueError: When the checkpoint's region sets or seed differ from this datamodule's.
        """
        saved = {name: state_dict[name] for name in ("seed", "train", "val", "test") if name in state_dict}
        differing = [name for name, value in saved.items() if self.state_dict()[name] != value]
        if differing:
            raise ValueError(f"the checkpoint being resumed was trained with a different "
                             f"{', '.join(differing)} (data.seed / data.split / data.fold / "
                             f"data.val_fraction): resume it with the data options of the interrupted run, "
                             f"or start a new run without --ckpt_path")

    # ------------------------------------------------------------------------------------- dataloaders
    def _rank_and_world(self) -> tuple[int, int]:
        if self.trainer is None:
            return 0, 1
        return int(self.trainer.global_rank), int(self.trainer.world_size)

    def _trainer_epoch(self) -> int:
        return 0 if self.trainer is None else int(self.trainer.current_epoch)

    def train_batches(self) -> TrainEdgeBatches:
        """The training edge iterable of this rank (epoch read from the trainer when attached)."""
        rank, world_size = self._rank_and_world()
        batches = BlockEdgeBatches if self.sampler == "blocks" else TrainEdgeBatches
        return batches(self.train_edges, self.batch_size, self.seed, rank, world_size,
                       epoch_source=self._trainer_epoch if self.trainer is not None else None)

    def _evaluation_loader(self, edges: Tensor) -> DataLoader[Tensor]:
        rank, world_size = self._rank_and_world()
        batches = EvaluationEdgeBatches(edges, self.eval_batch_size, rank, world_size)
        return DataLoader(batches, batch_size=None, num_workers=0)

    def train_dataloader(self) -> DataLoader[Tensor]:
        """Shuffled training edges (both orientations by default), this rank's shard."""
        self._require_setup()
        return DataLoader(self.train_batches(), batch_size=None, num_workers=0)

    def val_dataloader(self) -> DataLoader[Tensor]:
        """Validation edges (i < j within validation regions)."""
        self._require_setup()
        return self._evaluation_loader(self.val_edges)

    def test_dataloader(self) -> DataLoader[Tensor]:
        """Test edges (i < j within test regions)."""
        self._require_setup()
        return self._evaluation_loader(self.test_edges)

    def predict_dataloader(self) -> DataLoader[Tensor]:
        """Every pair i < j of all kept regions (targets from Y)."""
        self._require_setup()
        return self._evaluation_loader(self.predict_edges)

    def on_after_batch_transfer(self, batch: Tensor | dict[str, Tensor],
                                dataloader_idx: int) -> dict[str, Tensor]:
        """Turn a (B, 2) edge tensor on the device into the batch dict (see the module docstring).

        Args:
            batch: Edge indices already on the model's device (a dict is returned unchanged).
            dataloader_idx: Index of the dataloader (unused).

        Returns:
            The batch dict.
        """
        if isinstance(batch, dict):
            return batch
        regions = self.region_tensors(batch.device)
        rows, cols = batch[:, 0], batch[:, 1]
        return {"rows": rows, "cols": cols, "target": regions["connectivity"][rows, cols],
                "expression": regions["expression"], "coordinates": regions["coordinates"]}


def _device_key(device: torch.device | str) -> str:
    """A cache key that names ``cuda`` and ``cuda:<current>`` the same device."""
    resolved = torch.device(device)
    if resolved.type == "cuda" and resolved.index is None:
        resolved = torch.device("cuda", torch.cuda.current_device())
    return str(resolved)
