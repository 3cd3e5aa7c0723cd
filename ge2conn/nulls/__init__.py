"""Spatiomolecular nulls: CGE-matched spin permutations of regional expression (method §5).

The datamodule needs only :func:`null_path_for` and :func:`load_null_permutation`; ``ge2conn nulls``
(:mod:`ge2conn.nulls.cli`) generates and plots the files.
"""

from ge2conn.nulls.generate import PARAMETER_NAMES, NullSet, generate_nulls
from ge2conn.nulls.io import ensure_nulls, load_null_permutation, load_nulls, null_path_for, save_nulls

__all__ = [
    "PARAMETER_NAMES",
    "NullSet",
    "ensure_nulls",
    "generate_nulls",
    "load_null_permutation",
    "load_nulls",
    "null_path_for",
    "save_nulls",
]
