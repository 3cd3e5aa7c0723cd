"""ge2conn: predict whole-brain functional connectivity from gene expression and coordinates.

``import ge2conn`` is cheap (no torch, no Lightning): the Python API (:mod:`ge2conn.api`: ``build``,
``fit``, ``test``, ``predict``, the tasks and the datamodule) is imported on first use of one of its names,
e.g. ``ge2conn.fit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ge2conn.utils.version import __version__

if TYPE_CHECKING:
    from ge2conn.api import (
        BilinearLowRankTask,
        ConnectomeModelTask,
        EdgePairDataModule,
        EdgeRegressionTask,
        MLPTask,
        RulesBasedTask,
        Run,
        RunResult,
        SMTTask,
        build,
        build_task,
        build_trainer,
        fit,
        fit_and_test,
        load_model,
        predict,
        test,
    )

__all__ = [
    "__version__",
    "BilinearLowRankTask",
    "ConnectomeModelTask",
    "EdgePairDataModule",
    "EdgeRegressionTask",
    "MLPTask",
    "RulesBasedTask",
    "Run",
    "RunResult",
    "SMTTask",
    "build",
    "build_task",
    "build_trainer",
    "fit",
    "fit_and_test",
    "load_model",
    "predict",
    "test",
]

API_NAMES = frozenset(__all__) - {"__version__"}
"""Names of :mod:`ge2conn.api` re-exported here."""


def __getattr__(name: str) -> Any:
    """Import the Python API (torch, Lightning) the first time one of its names is used."""
    if name in API_NAMES:
        from ge2conn import api

        return getattr(api, name)
    raise AttributeError(f"module 'ge2conn' has no attribute {name!r}")
