"""Trained models applied to new data: prediction without FC, gene alignment, shipped pretrained models.

``model = ge2conn.inference.load_model("mlp_coords_schaefer100_common")`` (a shipped name or a checkpoint
path), then ``model.predict(expression, coordinates)`` returns the labelled predicted connectome.
"""

from ge2conn.inference.checkpoint import CheckpointError, LoadedCheckpoint, load_checkpoint, read_checkpoint
from ge2conn.inference.genes import DEFAULT_MAX_MISSING_FRACTION, TrainingGenes, training_genes_entry
from ge2conn.inference.model import Prediction, PretrainedModel, load_model
from ge2conn.inference.outputs import write_prediction
from ge2conn.inference.registry import ShippedModel, list_models

__all__ = [
    "DEFAULT_MAX_MISSING_FRACTION",
    "CheckpointError",
    "LoadedCheckpoint",
    "Prediction",
    "PretrainedModel",
    "ShippedModel",
    "TrainingGenes",
    "list_models",
    "load_checkpoint",
    "load_model",
    "read_checkpoint",
    "training_genes_entry",
    "write_prediction",
]
