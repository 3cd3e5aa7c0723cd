"""Interpretation of trained models: region embeddings, silhouette by network and SMT attention maps.

``ge2conn explain CKPT`` (:mod:`ge2conn.interpret.cli`) is the command-line entry point.
"""

from ge2conn.inference.checkpoint import CheckpointError, LoadedCheckpoint, load_checkpoint
from ge2conn.interpret.attention import TokenLayout, received_attention, region_attention, top_tokens
from ge2conn.interpret.checkpoint import RegionData, load_regions
from ge2conn.interpret.embeddings import PROJECTION_METHODS, network_silhouette, project_2d, umap_available
from ge2conn.interpret.explain import ExplainReport, explain

__all__ = [
    "PROJECTION_METHODS",
    "CheckpointError",
    "ExplainReport",
    "LoadedCheckpoint",
    "RegionData",
    "TokenLayout",
    "explain",
    "load_checkpoint",
    "load_regions",
    "network_silhouette",
    "project_2d",
    "received_attention",
    "region_attention",
    "top_tokens",
    "umap_available",
]
