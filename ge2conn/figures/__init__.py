"""ge2conn's figures: connectomes, brains (nilearn), nulls, attention and report figures.

Every figure is a :class:`matplotlib.figure.Figure` on its own Agg canvas (:func:`new_figure`), saved with
:func:`save_figure`; nothing here switches the global matplotlib backend or uses pyplot. The brain figures
(:mod:`ge2conn.figures.brain`) import nilearn when called.
"""

from ge2conn.figures.canvas import figure_to_rgb, new_figure, quantity_label, save_figure
from ge2conn.figures.connectome import RegionLayout, connectome_figure, edges_to_matrices, network_order

__all__ = [
    "RegionLayout",
    "connectome_figure",
    "edges_to_matrices",
    "figure_to_rgb",
    "network_order",
    "new_figure",
    "quantity_label",
    "save_figure",
]
