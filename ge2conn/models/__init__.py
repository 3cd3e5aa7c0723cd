"""LightningModules: one ``*Task`` per model family, all on :class:`EdgeRegressionTask`."""

from ge2conn.models.base import ClosedFormTask, EdgeRegressionTask
from ge2conn.models.bilinear import BilinearLowRankTask, ConnectomeModelTask
from ge2conn.models.mlp import MLPTask
from ge2conn.models.rules import RulesBasedTask
from ge2conn.models.smt import SMTTask

MODEL_ALIASES: dict[str, str] = {
    "SMT": "SMTTask",
    "MLP": "MLPTask",
    "ConnectomeModel": "ConnectomeModelTask",
    "CM": "ConnectomeModelTask",
    "BilinearLowRank": "BilinearLowRankTask",
    "LowRank": "BilinearLowRankTask",
    "Rules": "RulesBasedTask",
}
"""Family short names accepted by ``ge2conn fit --model NAME``."""

__all__ = [
    "MODEL_ALIASES",
    "BilinearLowRankTask",
    "ClosedFormTask",
    "ConnectomeModelTask",
    "EdgeRegressionTask",
    "MLPTask",
    "RulesBasedTask",
    "SMTTask",
]
