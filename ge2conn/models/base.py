"""The one LightningModule base every model family derives from."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import torch
from lightning.pytorch import LightningModule
from torch import Tensor, nn
from torchmetrics import MetricCollection

from ge2conn.data.protocol import edge_data, require_edge_data
from ge2conn.metrics import build_edge_metrics
from ge2conn.nn.base import PairModel

Batch = dict[str, Tensor]

LINKED_DATA_FIELDS = ("num_genes", "coordinate_mean", "coordinate_std")
"""Dataset facts every task takes from its datamodule (the CLI links them; so does ``build_task``)."""

# Defaults of the optimizer arguments of gradient-trained tasks, written once.
LEARNING_RATE = 1e-4
"""AdamW learning rate (method §3)."""
WEIGHT_DECAY = 1e-4
"""AdamW weight decay."""
LR_PATIENCE = 10
"""Validation epochs without improvement before the learning rate is reduced."""
LR_FACTOR = 0.5
"""Factor applied to the learning rate on a plateau."""


class EdgeRegressionTask(LightningModule, ABC):
    """Predict FC edges ``Y[i, j]`` from the features of regions i and j.

    Subclasses implement :meth:`configure_models` (build ``self.network``, a :class:`PairModel`) and list
    their hyperparameters in their own typed ``__init__`` (torchgeo's pattern): the base ``__init__`` takes
    nothing, and :meth:`save_hyperparameters` collects the subclass's arguments into ``self.hparams``. Every
    task accepts the dataset facts in :data:`LINKED_DATA_FIELDS` (linked from the datamodule by the CLI and
    :func:`ge2conn.api.build_task`). The base class owns the loss (MSE), the optimizer (AdamW;
    gradient-trained tasks take ``learning_rate``, ``weight_decay``, ``lr_patience``, ``lr_factor``), the
    LR schedule (ReduceLROnPlateau on the *validation* loss), the metrics, symmetric evaluation and
    prediction. Batches follow the ``EdgePairDataModule`` contract: a dict with ``rows``, ``cols``,
    ``target`` and the device-resident region tensors ``expression`` and ``coordinates``.
    """

    monitor = "val/loss"
    """Quantity that early stopping, checkpointing and the LR scheduler read."""
    mode = "min"
    """Whether :attr:`monitor` should go down ("min") or up ("max")."""

    network: PairModel

    def __init__(self) -> None:
        super().__init__()
        # Collects the arguments of the subclass's __init__ (every frame of this object's __init__ chain).
        self.save_hyperparameters()
        self.configure_models()
        self.configure_losses()
        self.metrics: dict[str, MetricCollection] = {}

    @abstractmethod
    def configure_models(self) -> None:
        """Build ``self.network`` from ``self.hparams``."""

    def configure_losses(self) -> None:
        """Set the training criterion (MSE, method §3)."""
        self.criterion: nn.Module = nn.MSELoss()

    def configure_metrics(self) -> None:
        """Build validation and test metrics from the attached datamodule's region metadata."""
        metadata = require_edge_data(self.trainer, type(self).__name__).region_metadata
        for stage in ("val", "test"):
            collection = build_edge_metrics(
                prefix=stage,
                coordinates=torch.as_tensor(metadata.centroids, dtype=torch.float64),
                hemisphere=torch.as_tensor(metadata.hemisphere_codes, dtype=torch.long),
                network=torch.as_tensor(metadata.network_codes, dtype=torch.long),
                network_names=list(metadata.network_names),
            )
            # Registered as a submodule so the metric states follow the module's device.
            self.add_module(f"{stage}_metrics", collection)
            self.metrics[stage] = collection

    @property
    def coordinate_statistics(self) -> tuple[list[float], list[float]]:
        """Mean and SD used to standardize coordinates (identity when not linked)."""
        mean = self.hparams.get("coordinate_mean") or [0.0, 0.0, 0.0]
        std = self.hparams.get("coordinate_std") or [1.0, 1.0, 1.0]
        return list(mean), list(std)

    def network_arguments(self, network_class: Callable[..., PairModel], **overrides: Any) -> dict[str, Any]:
        """Keyword arguments of ``network_class`` taken from the hyperparameters of the same name.

        A task names its hyperparameters after the network's arguments, so that each default is written once
        (in the network's module) and no task forwards its arguments one by one. The coordinate statistics
        come from :attr:`coordinate_statistics` (identity when not linked).

        Args:
            network_class: The network to build (its constructor's parameters are read).
            **overrides: Arguments that have no hyperparameter of the same name, or replace one.

        Returns:
            The arguments to call ``network_class`` with.
        """
        parameters = inspect.signature(network_class).parameters
        arguments = {name: value for name, value in self.hparams.items() if name in parameters}
        if "coordinate_mean" in parameters:
            arguments["coordinate_mean"], arguments["coordinate_std"] = self.coordinate_statistics
        return arguments | overrides

    def setup(self, stage: str) -> None:
        """Create the metrics once a datamodule is attached (they need region metadata)."""
        if not self.metrics and edge_data(self.trainer) is not None:
            self.configure_metrics()

    def forward(self, expression: Tensor, coordinates: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
        """Symmetric prediction (f(i,j) + f(j,i)) / 2 for the given region pairs."""
        return self.network.predict_symmetric(expression, coordinates, rows, cols)

    def regularization(self) -> Tensor | None:
        """Extra penalty added to the training loss (none by default)."""
        return None

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor | None:
        """One gradient step on a batch of ordered training edges."""
        prediction = self.network(batch["expression"], batch["coordinates"], batch["rows"], batch["cols"])
        loss = self.criterion(prediction.float(), batch["target"].float())
        penalty = self.regularization()
        if penalty is not None:
            loss = loss + penalty
        self.log(
            "train/loss",
            loss,
            on_step=False,
            on_epoch=True,
            prog_bar=True,
            batch_size=int(batch["rows"].numel()),
        )
        return loss

    def on_fit_start(self) -> None:
        """Start a fresh run from the mean training target (see ``PairDecoder.set_output_bias``)."""
        datamodule = edge_data(self.trainer)
        if self.trainer.ckpt_path is None and datamodule is not None:
            connectivity = datamodule.region_tensors(self.device)["connectivity"]
            edges = datamodule.train_edges.to(self.device)
            self.network.initialize_output(float(connectivity[edges[:, 0], edges[:, 1]].mean()))

    def on_train_epoch_end(self) -> None:
        """Log the learning rate (ReduceLROnPlateau changes it), without needing a logger-bound callback."""
        optimizers = self.trainer.optimizers
        if optimizers and optimizers[0].param_groups:  # closed-form models run with a parameterless mock
            self.log("train/lr", float(optimizers[0].param_groups[0]["lr"]), on_epoch=True)

    def _evaluate(self, batch: Batch, stage: str) -> dict[str, Tensor]:
        if batch["rows"].numel() == 0:  # an empty DDP shard: nothing to predict, but metrics still sync
            return {"rows": batch["rows"], "cols": batch["cols"],
                    "prediction": batch["target"].float(), "target": batch["target"].float()}
        prediction = self(batch["expression"], batch["coordinates"], batch["rows"], batch["cols"]).float()
        target = batch["target"].float()
        if stage in self.metrics:
            rows, cols = batch["rows"], batch["cols"]
            self.metrics[stage].update(preds=prediction, target=target, rows=rows, cols=cols)
        else:  # no region metadata (a bare datamodule): log the loss per batch instead
            self.log(f"{stage}/loss", nn.functional.mse_loss(prediction, target), on_epoch=True,
                     batch_size=int(batch["rows"].numel()), sync_dist=True)
        # Returned, not kept: callbacks that want the predictions collect them (EdgePredictionCollector).
        return {"rows": batch["rows"].detach(), "cols": batch["cols"].detach(),
                "prediction": prediction.detach(), "target": target.detach()}

    def on_validation_epoch_start(self) -> None:
        """Cache region encodings for this loop."""
        self.network.enable_region_cache()

    def on_test_epoch_start(self) -> None:
        """Cache region encodings for this loop."""
        self.network.enable_region_cache()

    def on_predict_epoch_start(self) -> None:
        """Cache region encodings for this loop: all-pairs prediction then encodes each region once."""
        self.network.enable_region_cache()

    def on_predict_epoch_end(self) -> None:
        """Free the region cache."""
        self.network.disable_region_cache()

    def validation_step(self, batch: Batch, batch_idx: int) -> dict[str, Tensor]:
        """Evaluate symmetric predictions on validation edges (each unordered pair once).

        Returns:
            The batch's ``rows``, ``cols``, ``prediction`` and ``target`` (for callbacks).
        """
        return self._evaluate(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> dict[str, Tensor]:
        """Evaluate symmetric predictions on test edges (each unordered pair once).

        Returns:
            The batch's ``rows``, ``cols``, ``prediction`` and ``target`` (for callbacks).
        """
        return self._evaluate(batch, "test")

    def _log_metrics(self, stage: str) -> None:
        if stage not in self.metrics:
            return
        values = self.metrics[stage].compute()
        flat = {name: value.float() for name, value in _flatten(values).items()}
        # The monitored loss is the MSE of symmetric predictions over all of the stage's edges, reduced
        # exactly across DDP ranks by the metric's sum states (no per-batch averaging of averages).
        self.log(f"{stage}/loss", flat[f"{stage}/mse"], prog_bar=stage == "val", sync_dist=False)
        self.log_dict(flat, sync_dist=False)
        self.metrics[stage].reset()

    def on_validation_epoch_end(self) -> None:
        """Compute and log the validation metrics; free the region cache."""
        self.network.disable_region_cache()
        self._log_metrics("val")
        self._step_plateau_scheduler()

    def _step_plateau_scheduler(self) -> None:
        """Step ReduceLROnPlateau with this validation's loss, so ``lr_patience`` counts validations.

        Validations happen every epoch or, with step-based schedules (``configs/trainer/steps.yaml``), every
        N optimizer steps across epoch boundaries; Lightning's own stepping follows epochs or batch indices
        within an epoch, so it is disabled in :meth:`lr_scheduler_step` and the step happens here.
        """
        scheduler = self.lr_schedulers() if self._trainer is not None else None
        value = self.trainer.callback_metrics.get(self.monitor) if scheduler is not None else None
        if value is not None and not self.trainer.sanity_checking:
            scheduler.step(float(value))  # type: ignore[union-attr,arg-type]

    def lr_scheduler_step(self, scheduler: Any, metric: Any) -> None:
        """No-op: the plateau scheduler steps after each validation (:meth:`_step_plateau_scheduler`)."""

    def on_test_epoch_end(self) -> None:
        """Compute and log the test metrics; free the region cache."""
        self.network.disable_region_cache()
        self._log_metrics("test")

    def predict_step(self, batch: Batch, batch_idx: int) -> dict[str, Tensor]:
        """Symmetric predictions for any set of region pairs."""
        prediction = self(batch["expression"], batch["coordinates"], batch["rows"], batch["cols"])
        return {"rows": batch["rows"], "cols": batch["cols"], "prediction": prediction.float()}

    def region_embeddings(self, expression: Tensor, coordinates: Tensor) -> Tensor:
        """Embeddings z_i of every region (models with embeddings only).

        Args:
            expression: (R, G) region expression.
            coordinates: (R, 3) MNI centroids.

        Returns:
            (R, D) embeddings.
        """
        regions = torch.arange(expression.shape[0], device=expression.device)
        return self.network.encode(expression, coordinates, regions)

    def configure_optimizers(self) -> Any:
        """AdamW with ReduceLROnPlateau on the validation loss (never on test data)."""
        parameters = [parameter for parameter in self.parameters() if parameter.requires_grad]
        if not parameters:
            return None
        # The fused kernel does the whole update in one pass per tensor: ~5x faster than the default
        # multi-tensor path on CPU (it dominates an MLP step, whose first layer has 2G x 512 weights).
        fused = all(parameter.device.type in ("cpu", "cuda") for parameter in parameters)
        optimizer = torch.optim.AdamW(
            parameters,
            lr=self.hparams["learning_rate"],
            weight_decay=self.hparams["weight_decay"],
            fused=fused or None,
        )
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="max" if self.mode == "max" else "min",
            factor=self.hparams["lr_factor"],
            patience=self.hparams["lr_patience"],
        )
        return {
            "optimizer": optimizer,
            # Stepped by the task after each validation (_step_plateau_scheduler); registered here so that its
            # state is checkpointed. Not strict: an epoch without validation (step-based schedules) skips.
            "lr_scheduler": {
                "scheduler": scheduler, "monitor": self.monitor, "interval": "epoch", "strict": False
            },
        }


class ClosedFormTask(EdgeRegressionTask):
    """Base for models fitted analytically on the training edges (bilinear closed forms, rules).

    The fit happens in ``on_fit_start``; the fit loop then runs a single epoch whose one "optimization step"
    is a no-op step of a parameter-free optimizer (so that the step counter, and with it checkpointing,
    advance as for every other model), and stops, so that validation, checkpointing and ``ge2conn fit`` /
    ``test`` treat these models like every other.
    """

    automatic_optimization = False

    def on_fit_start(self) -> None:
        """Fit the closed form on the training edges."""
        datamodule = require_edge_data(self.trainer, type(self).__name__)
        expression, coordinates, rows, cols, targets = datamodule.training_arrays()
        network: Any = self.network  # a FittedPairModel: its numpy ``fit`` is not part of PairModel
        network.fit(expression, coordinates, rows, cols, targets)
        self.network.to(self.device)
        # One validation at the end of the epoch, also under step-based schedules (trainer/steps.yaml).
        self.trainer.check_val_every_n_epoch, self.trainer.val_check_interval = 1, 1.0

    def training_step(self, batch: Batch, batch_idx: int) -> None:
        """No gradient steps: the model is already fitted; the first batch counts the fit as one step."""
        if batch_idx == 0:
            optimizer = self.optimizers()
            assert not isinstance(optimizer, list)  # configure_optimizers returns one
            optimizer.step()
        return None

    def on_train_epoch_end(self) -> None:
        """Stop after this epoch: a closed form has nothing more to learn."""
        self.trainer.should_stop = True

    def configure_optimizers(self) -> Any:
        """A no-op optimizer over a free-standing parameter (not part of the model's state).

        Stepping it counts the closed-form fit as the epoch's one optimization step; without a step,
        checkpointing (which skips step 0) would never write a best-on-validation checkpoint.
        """
        return torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.0)


def _flatten(values: dict[str, Any]) -> dict[str, Tensor]:
    flat: dict[str, Tensor] = {}
    for name, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value))
        else:
            flat[name] = torch.as_tensor(value)
    return flat
