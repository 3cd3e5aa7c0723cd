"""Rules-based baselines as tasks: exponential distance decay, Gaussian kernel, correlated gene expression."""

from __future__ import annotations

from typing import Literal

from ge2conn.models.base import ClosedFormTask
from ge2conn.nn.base import FittedPairModel
from ge2conn.nn.rules import CGE, ExpDecay, GaussianKernel

RULES: dict[str, type[FittedPairModel]] = {"exp_decay": ExpDecay, "gaussian": GaussianKernel, "cge": CGE}
"""The network of each ``rule``."""


class RulesBasedTask(ClosedFormTask):
    """A rules-based baseline fitted with scipy on the training edges (method §3.4).

    Args:
        num_genes: Number of genes (linked from the datamodule).
        coordinate_mean: Mean training-region centroid (linked; unused).
        coordinate_std: SD of training-region centroids (linked; unused).
        rule: ``"exp_decay"``, ``"gaussian"`` or ``"cge"``.
        pca_variance: Explained variance of the PCA used by CGE.
    """

    def __init__(
        self,
        num_genes: int = 1,
        coordinate_mean: list[float] | None = None,
        coordinate_std: list[float] | None = None,
        rule: Literal["exp_decay", "gaussian", "cge"] = "exp_decay",
        pca_variance: float = 0.95,
    ) -> None:
        super().__init__()

    def configure_models(self) -> None:
        """Build the (unfitted) rule."""
        rule = self.hparams["rule"]
        if rule not in RULES:
            raise ValueError(f"unknown rule {rule!r}; use 'exp_decay', 'gaussian' or 'cge'")
        self.network = RULES[rule](**self.network_arguments(RULES[rule]))
