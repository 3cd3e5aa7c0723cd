"""Compile the region encoder with ``torch.compile``, keeping the module tree (and checkpoints) unchanged."""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer


class CompileEncoder(Callback):
    """Replace ``network.encoder.forward`` (or ``network.encode_regions``) by its compiled version at setup.

    Compiling the bound method rather than wrapping the module keeps parameter names unchanged, so
    checkpoints written with and without compilation are interchangeable. The number of distinct regions
    per batch varies, so shapes are compiled as dynamic.

    Args:
        mode: ``torch.compile`` mode ("default", "reduce-overhead", "max-autotune").
        dynamic: Compile with dynamic shapes.
    """

    def __init__(self, mode: str = "default", dynamic: bool = True) -> None:
        self.mode = mode
        self.dynamic = dynamic
        self.compiled = False

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Compile once, before the first step."""
        if self.compiled:
            return
        network: Any = getattr(pl_module, "network", None)
        target = getattr(network, "encoder", None)
        if isinstance(target, torch.nn.Module):
            target.forward = torch.compile(target.forward, mode=self.mode, dynamic=self.dynamic)
        elif network is not None:
            compiled = torch.compile(network.encode_regions, mode=self.mode, dynamic=self.dynamic)
            network.encode_regions = compiled
        self.compiled = True
