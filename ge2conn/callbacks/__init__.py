"""Lightning callbacks: target-side augmentation, best-weight restoring, figures and prediction writing."""

from ge2conn.callbacks.augmentation import TargetAugmentation, augmentation_probability
from ge2conn.callbacks.best_weights import RestoreBestWeights
from ge2conn.callbacks.checkpoint import StableCheckpoint
from ge2conn.callbacks.compile import CompileEncoder
from ge2conn.callbacks.figures import ConnectomeFigures
from ge2conn.callbacks.prediction_writer import ConnectomeWriter

__all__ = [
    "CompileEncoder",
    "ConnectomeFigures",
    "ConnectomeWriter",
    "RestoreBestWeights",
    "StableCheckpoint",
    "TargetAugmentation",
    "augmentation_probability",
]
