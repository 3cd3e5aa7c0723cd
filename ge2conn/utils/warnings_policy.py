"""ge2conn's one warnings policy: third-party warnings that say nothing about a ge2conn run.

The policy is applied by entry points only — the console script (:func:`install`), the Python API around
the work it runs (:func:`quiet_known_warnings`) and pytest (``filterwarnings`` in ``pyproject.toml``, the
same patterns) — never when a module is imported. What the progress bar and model summary print (no
``v_num``, no FLOPs when none were counted) is set by :mod:`ge2conn.callbacks.console`, not here.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

KNOWN_NOISE: tuple[tuple[str, str], ...] = (
    # Batches are whole index tensors built in-process (num_workers=0 by design; the data are a few
    # device-resident tensors), so Lightning's advice about workers and iterable lengths does not apply.
    (r".*does not have many workers.*", "the loaders use num_workers=0 by design"),
    (r"Your `IterableDataset` has `__len__` defined.*", "edge batches know their length"),
    (r".*isinstance\(treespec, LeafSpec\).*", "a torch deprecation raised inside Lightning"),
    (r".*log_every_n_steps.*", "small datasets have fewer batches per epoch than the logging interval"),
    # Step-based schedules (configs/trainer/steps.yaml): most epochs end without a validation loss; the task
    # steps the plateau scheduler after each validation itself.
    (r".*ReduceLROnPlateau conditioned on metric.*strict.*", "the task steps it after each validation"),
    # Early epochs of a model can predict a constant; the correlation is then NaN, which is logged as such.
    (r"(Pearson r|Spearman rho|R²) is undefined \(constant.*", "logged as NaN"),
)
"""``(message regex, why it is ignored)`` for every warning ge2conn silences."""


class _DropAdvertisements(logging.Filter):
    """Drop Lightning's "💡 Tip: ... try installing litlogger/litmodels" lines (printed on every run)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith("💡 Tip:")


def install() -> None:
    """Apply the policy process-wide (called by the ``ge2conn`` console script before any work)."""
    for pattern, _ in KNOWN_NOISE:
        warnings.filterwarnings("ignore", message=pattern)
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(item, _DropAdvertisements) for item in rank_zero.filters):
        rank_zero.addFilter(_DropAdvertisements())


@contextmanager
def quiet_known_warnings() -> Iterator[None]:
    """Apply the policy inside a ``with`` block only (the Python API around fit, test and predict)."""
    with warnings.catch_warnings():
        install()
        yield
