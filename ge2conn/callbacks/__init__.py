"""Lightning callbacks: augmentation, best weights, checkpoints, figures, prediction collection, writing."""

from ge2conn.callbacks.augmentation import TargetAugmentation, augmentation_probability
from ge2conn.callbacks.best_weights import RestoreBestWeights
from ge2conn.callbacks.checkpoint import StableCheckpoint
from ge2conn.callbacks.compile import CompileEncoder
from ge2conn.callbacks.edge_predictions import EdgePredictionCollector, TestPredictions
from ge2conn.callbacks.figures import ConnectomeFigures
from ge2conn.callbacks.prediction_writer import ConnectomeWriter
from ge2conn.callbacks.run_state import RunState

__all__ = [
    "CompileEncoder",
    "EdgePredictionCollector",
    "ConnectomeFigures",
    "ConnectomeWriter",
    "RestoreBestWeights",
    "RunState",
    "StableCheckpoint",
    "TargetAugmentation",
    "TestPredictions",
    "augmentation_probability",
]
