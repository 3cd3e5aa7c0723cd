"""What a run prints: Lightning's rich progress bar and model summary without lines that say nothing.

Lightning's defaults print ``v_num: 0.000`` (the logger version, as a float) beside the losses and a FLOPs
column plus ``Total FLOPs: 0`` (FLOPs are only counted for a model with an ``example_input_array``, which the
edge tasks have not). Both are removed through public overrides: ``ProgressBar.get_metrics`` (as Lightning's
documentation shows for ``v_num``) and ``ModelSummary.summarize``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelSummary, ProgressBar, RichModelSummary, RichProgressBar
from lightning.pytorch.utilities.model_summary import get_formatted_model_size, get_human_readable_count


class QuietProgressBar(RichProgressBar):
    """Lightning's rich progress bar without the logger version number (``v_num``)."""

    def get_metrics(self, trainer: Trainer, pl_module: LightningModule) -> dict[str, Any]:
        """The progress bar's metrics less ``v_num``."""
        items = super().get_metrics(trainer, pl_module)
        items.pop("v_num", None)
        return items


class QuietModelSummary(RichModelSummary):
    """Lightning's rich model summary without FLOPs when none were counted (no ``example_input_array``)."""

    @staticmethod
    def summarize(
        summary_data: list[tuple[str, list[str]]],
        total_parameters: int,
        trainable_parameters: int,
        model_size: float,
        total_training_modes: dict[str, int],
        total_flops: int,
        **summarize_kwargs: Any,
    ) -> None:
        """Print the layer table and totals; FLOPs only when counted."""
        if total_flops:
            RichModelSummary.summarize(summary_data, total_parameters, trainable_parameters, model_size,
                                       total_training_modes, total_flops, **summarize_kwargs)
            return
        from rich import get_console
        from rich.table import Table

        columns = [(name, values) for name, values in summary_data if name != "FLOPs"]
        table = Table(header_style=summarize_kwargs.get("header_style", "bold magenta"))
        table.add_column(" ", style="dim")
        for name, _ in columns[1:]:
            table.add_column(name, justify="left" if name in ("Name", "Type", "Mode") else "right")
        for row in zip(*(values for _, values in columns), strict=True):
            table.add_row(*row)
        console = get_console()
        console.print(table)
        frozen = total_parameters - trainable_parameters
        console.print(
            f"[bold]Parameters[/]: {get_human_readable_count(int(trainable_parameters)).strip()} trainable, "
            f"{get_human_readable_count(int(frozen)).strip()} frozen, "
            f"{get_formatted_model_size(model_size)} MB; modules: {total_training_modes['train']} in train "
            f"mode, {total_training_modes['eval']} in eval mode",
            soft_wrap=True, highlight=False,
        )


def quiet_console(trainer_arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Trainer arguments with the quiet progress bar and model summary, unless disabled or given.

    Args:
        trainer_arguments: The trainer's arguments (``callbacks``, ``enable_progress_bar``,
            ``enable_model_summary``, ``barebones``).

    Returns:
        The arguments with the callbacks added; ``enable_model_summary`` is False when the quiet summary is
        added (it only turns off Lightning's default summary, which would otherwise announce that it skips
        itself).
    """
    arguments = dict(trainer_arguments)
    callbacks = list(arguments.get("callbacks") or [])
    if arguments.get("barebones"):
        return arguments
    if arguments.get("enable_progress_bar") is not False and not any(
            isinstance(callback, ProgressBar) for callback in callbacks):
        callbacks.append(QuietProgressBar())
    if arguments.get("enable_model_summary") is not False and not any(
            isinstance(callback, ModelSummary) for callback in callbacks):
        callbacks.append(QuietModelSummary())
        arguments["enable_model_summary"] = False
    arguments["callbacks"] = callbacks
    return arguments
