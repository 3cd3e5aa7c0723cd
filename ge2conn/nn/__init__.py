"""Plain ``torch.nn`` pair models (no Lightning): networks take tensors and return tensors.

Every model is a :class:`~ge2conn.nn.base.PairModel`: ``forward(expression, coordinates, rows, cols)``
predicts ``Y[rows, cols]`` encoding each distinct region once; closed-form and rules models are
:class:`~ge2conn.nn.base.FittedPairModel` with a numpy ``fit(expression, coordinates, rows, cols, targets)``.
"""

from ge2conn.nn.attention import alibi_bias, alibi_slopes, attention
from ge2conn.nn.base import FittedPairModel, PairModel, StandardizeCoordinates, symmetric_forward
from ge2conn.nn.bilinear import BilinearLowRank, FixedBilinear
from ge2conn.nn.connectome import ConnectomeModel, PLSBilinear
from ge2conn.nn.decoders import PairDecoder
from ge2conn.nn.mlp import MLP, CoordsMLP
from ge2conn.nn.rules import CGE, ExpDecay, GaussianKernel
from ge2conn.nn.smt import SMT, SMTEncoder

__all__ = [
    "CGE",
    "MLP",
    "SMT",
    "BilinearLowRank",
    "ConnectomeModel",
    "CoordsMLP",
    "ExpDecay",
    "FittedPairModel",
    "FixedBilinear",
    "GaussianKernel",
    "PLSBilinear",
    "PairDecoder",
    "PairModel",
    "SMTEncoder",
    "StandardizeCoordinates",
    "alibi_bias",
    "alibi_slopes",
    "attention",
    "symmetric_forward",
]
