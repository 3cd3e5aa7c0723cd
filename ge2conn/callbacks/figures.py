"""Log connectome figures (true | predicted | residual by network, density scatter) to TensorBoard.

Also keeps TensorBoard's ``hp_metric`` meaningful: the Pearson r of the latest validation epoch, then of the
test set (Lightning's placeholder is -1, which the HParams tab would otherwise show).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.loggers import TensorBoardLogger

from ge2conn.callbacks.edge_predictions import EdgePredictionCollector
from ge2conn.data.protocol import edge_data
from ge2conn.figures import RegionLayout, connectome_figure, figure_to_rgb
from ge2conn.figures.names import dataset_quantity, model_display_name, run_title


class ConnectomeFigures(EdgePredictionCollector):
    """At the end of validation (every ``every_n_epochs``) and of testing, log a connectome figure.

    Figures go to the TensorBoard logger under ``figures/val_connectome`` and ``figures/test_connectome``
    (see :func:`ge2conn.figures.connectome_figure`); other loggers are skipped. Epochs are numbered as
    Lightning's progress bar numbers them (0-based: ``epoch 19/19`` is the last of 20).

    Args:
        every_n_epochs: Validation figure frequency (the test figure is always drawn); 0: only the last epoch.
    """

    def __init__(self, every_n_epochs: int = 10) -> None:
        super().__init__(stages=("val", "test"))
        self.every_n_epochs = every_n_epochs

    def _log(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        loggers = [logger for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)]
        if not loggers:  # the same on every rank, so no rank waits in a gather that others skip
            return
        # Every rank joins the gathers, also one whose shard of edges was empty.
        columns = self.gathered(pl_module, stage)
        if not trainer.is_global_zero or columns["rows"].numel() == 0:
            return
        arrays = {key: value.detach().float().cpu().numpy() for key, value in columns.items()}
        layout, quantity, title = describe_run(trainer, pl_module, stage)
        figure = connectome_figure(
            arrays["rows"].astype(int),
            arrays["cols"].astype(int),
            arrays["prediction"],
            arrays["target"],
            layout=layout,
            title=title,
            quantity=quantity,
        )
        image = figure_to_rgb(figure)
        for logger in loggers:
            logger.experiment.add_image(
                f"figures/{stage}_connectome", image, global_step=trainer.global_step, dataformats="HWC"
            )

    @staticmethod
    def _log_hp_metric(trainer: Trainer, stage: str) -> None:
        value = trainer.callback_metrics.get(f"{stage}/pearson")
        if value is None or not trainer.is_global_zero:
            return
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.log_metrics({"hp_metric": float(value)}, step=trainer.global_step)

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Draw the validation figure every ``every_n_epochs`` epochs and at the last epoch."""
        if trainer.sanity_checking:
            return
        epoch = trainer.current_epoch
        last = trainer.max_epochs is not None and epoch + 1 >= trainer.max_epochs
        if last or (self.every_n_epochs > 0 and epoch % self.every_n_epochs == 0):
            self._log(trainer, pl_module, "val")

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """``hp_metric`` = this epoch's validation Pearson r (after the metrics are logged)."""
        if not trainer.sanity_checking:
            self._log_hp_metric(trainer, "val")

    def on_test_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Always draw the test figure."""
        self._log(trainer, pl_module, "test")

    def on_test_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """``hp_metric`` = the test Pearson r."""
        self._log_hp_metric(trainer, "test")


def describe_run(
    trainer: Trainer, pl_module: LightningModule, stage: str
) -> tuple[RegionLayout | None, str, str]:
    """The region layout, the quantity label and the title of a figure (model, dataset, split, fold).

    Args:
        trainer: The trainer (its datamodule gives regions, dataset, split and fold).
        pl_module: The task (its class and hyperparameters give the model's name).
        stage: ``val``, ``test`` or ``predict`` (every region pair).

    Returns:
        ``(layout, quantity, title)``; the layout is None without a datamodule.
    """
    datamodule = edge_data(trainer)
    model = model_display_name(type(pl_module).__name__, dict(pl_module.hparams))
    if datamodule is None:
        return None, "FC", f"{model}: {stage}"
    metadata = datamodule.region_metadata
    names = np.asarray(metadata.network_names, dtype=str)
    sides = np.asarray(["L", "R", "M"])[np.asarray(metadata.hemisphere_codes)]  # code -1 (midline) -> "M"
    layout = RegionLayout(names[np.asarray(metadata.network_codes)], sides)
    hparams = dict(datamodule.hparams)
    path = Path(datamodule.dataset_path)
    if stage == "val":
        last = (trainer.max_epochs or 0) - 1
        moment = f"validation regions, epoch {trainer.current_epoch}/{last}"
    elif stage == "test":
        moment = f"test regions, after {trainer.current_epoch} epochs"
    else:
        moment = "every region pair (training regions included)"
    if hparams.get("null_rank") is not None:
        moment += f" (null brain {hparams['null_rank']})"
    split = str(hparams.get("split", "random"))
    split_round, fold = int(hparams.get("split_round", 0)), int(hparams.get("fold", 0))
    title = run_title(model, path.stem, split, split_round, fold, moment)
    return layout, dataset_quantity(path), title
