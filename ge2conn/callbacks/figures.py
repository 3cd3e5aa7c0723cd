"""Log connectome figures (true vs predicted heatmaps and a scatter plot) to TensorBoard."""

from __future__ import annotations

import matplotlib.pyplot as plt
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.loggers import TensorBoardLogger

from ge2conn.callbacks.edge_predictions import EdgePredictionCollector
from ge2conn.plotting import connectome_figure


class ConnectomeFigures(EdgePredictionCollector):
    """At the end of validation (every ``every_n_epochs``) and of testing, log a connectome figure.

    Figures go to the TensorBoard logger under ``figures/val_connectome`` and ``figures/test_connectome``;
    other loggers are skipped.

    Args:
        every_n_epochs: Validation figure frequency (the test figure is always drawn).
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
        figure = connectome_figure(
            arrays["rows"].astype(int),
            arrays["cols"].astype(int),
            arrays["prediction"],
            arrays["target"],
            title=f"{stage}, epoch {trainer.current_epoch}",
        )
        for logger in loggers:
            logger.experiment.add_figure(
                f"figures/{stage}_connectome", figure, global_step=trainer.global_step
            )
        plt.close(figure)

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Draw the validation figure every ``every_n_epochs`` epochs and at the last epoch."""
        if trainer.sanity_checking:
            return
        epoch = trainer.current_epoch
        last = trainer.max_epochs is not None and epoch + 1 >= trainer.max_epochs
        if last or (self.every_n_epochs > 0 and epoch % self.every_n_epochs == 0):
            self._log(trainer, pl_module, "val")

    def on_test_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Always draw the test figure."""
        self._log(trainer, pl_module, "test")
