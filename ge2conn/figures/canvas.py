"""Figures without pyplot: a :class:`~matplotlib.figure.Figure` on its own Agg canvas, saved atomically.

No global backend switch (``matplotlib.use``) and no pyplot figure registry: a figure is garbage once it is
saved, so nothing leaks across the thousands of figures a sweep can draw, and the user's own backend is
untouched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ge2conn.utils.atomic import atomic_output

DEFAULT_DPI = 110
"""Resolution of saved PNGs: sharp text, small files."""

FC_COLOURS = "RdBu_r"
"""Diverging colour map of connectivity values (blue negative, white 0, red positive)."""

MISSING_COLOUR = "0.78"
"""Grey of masked entries (the unpredicted diagonal), distinct from the white of 0."""


def new_figure(width: float, height: float, dpi: int = DEFAULT_DPI, **options: Any) -> Figure:
    """A figure with its own Agg canvas (``layout="constrained"`` unless ``options`` say otherwise).

    Args:
        width: Width in inches.
        height: Height in inches.
        dpi: Resolution used by :func:`save_figure` unless it is given another.
        **options: Extra :class:`~matplotlib.figure.Figure` options.

    Returns:
        The figure.
    """
    options.setdefault("layout", "constrained")
    figure = Figure(figsize=(width, height), dpi=dpi, **options)
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: str | Path, dpi: int | None = None) -> Path:
    """Write a figure as PNG atomically (parent folders created).

    Args:
        figure: The figure.
        path: Destination ``.png``.
        dpi: Resolution (default: the figure's).

    Returns:
        The path.
    """
    destination = Path(path)
    with atomic_output(destination) as temporary, temporary.open("wb") as file:
        figure.savefig(file, format="png", dpi=dpi or figure.dpi)
    return destination


def figure_to_rgb(figure: Figure) -> np.ndarray:
    """Render a figure to an (H, W, 3) uint8 array (for TensorBoard images).

    Args:
        figure: The figure.

    Returns:
        The RGB pixels.
    """
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def quantity_label(provenance: dict[str, Any] | None, name: str = "FC") -> str:
    """Axis/colour-bar label of connectivity values with their units, from a dataset's provenance.

    ``fc_transform`` like ``"fisher_z, negatives zeroed"`` gives ``"FC, Fisher z"`` (the details after the
    first comma stay in the provenance: labels must fit beside a colour bar).

    Args:
        provenance: The dataset's provenance (``fc_transform`` is read), or None.
        name: The quantity.

    Returns:
        The label.
    """
    transform = str((provenance or {}).get("fc_transform") or "").strip()
    head = transform.partition(",")[0].strip()
    units = {"fisher_z": "Fisher z", "pearson": "Pearson r", "pearson_r": "Pearson r", "r": "Pearson r",
             "none": "", "as provided": ""}.get(head.lower(), head[:24])
    return f"{name}, {units}" if units else name
