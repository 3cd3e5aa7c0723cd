"""Region embeddings as 2-D maps (PCA, or UMAP when ``umap-learn`` is installed) and silhouette by network.

The silhouette score (Euclidean, :func:`sklearn.metrics.silhouette_score`) turns "the embeddings cluster by
functional network" into a number in [-1, 1]; it is computed on the full-dimensional representation (the
map's two axes lose information) and, for reference, on the 2-D map itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score

from ge2conn.figures import new_figure

PROJECTION_METHODS = ("pca", "umap")
"""2-D map methods accepted by :func:`project_2d`."""
_HEMISPHERE_MARKERS = {"L": "o", "R": "^", "M": "s"}
SILHOUETTE_READING = (
    "silhouette by network: +1 regions sit with their own network, 0 networks overlap, "
    "< 0 regions sit closer to other networks' regions than to their own"
)
"""How to read the silhouette scores (printed under the figure title)."""


def umap_available() -> bool:
    """Whether the optional ``umap-learn`` package is installed (and importable)."""
    try:
        import umap  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


def project_2d(features: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """Map (R, D) features to (R, 2).

    Args:
        features: One row per region.
        method: ``"pca"`` (principal components of the centred features) or ``"umap"``.
        seed: Random state of the projection.

    Returns:
        (R, 2) coordinates of the map.

    Raises:
        ValueError: for an unknown method, or ``"umap"`` without ``umap-learn`` installed.
    """
    values = np.asarray(features, dtype=np.float64)
    if method == "pca":
        # A representation with a single informative direction still gets a second (zero) axis.
        components = min(2, values.shape[0], values.shape[1])
        mapped = PCA(n_components=components, random_state=seed).fit_transform(values)
        return np.pad(mapped, ((0, 0), (0, 2 - components)))
    if method == "umap":
        if not umap_available():
            raise ValueError(
                "--method umap needs the optional package umap-learn (pip install umap-learn); "
                "use --method pca"
            )
        import umap  # type: ignore[import-not-found, unused-ignore]

        neighbours = max(2, min(15, values.shape[0] - 1))
        reducer = umap.UMAP(n_components=2, n_neighbors=neighbours, random_state=seed)
        return np.asarray(reducer.fit_transform(values), dtype=np.float64)
    raise ValueError(f"unknown projection method {method!r}; use one of {PROJECTION_METHODS}")


def network_silhouette(features: np.ndarray, networks: np.ndarray) -> float:
    """Silhouette score of the regions grouped by network (Euclidean distance).

    Args:
        features: (R, D) representation.
        networks: (R,) network name of each region.

    Returns:
        The mean silhouette in [-1, 1]; NaN when there are fewer than 2 networks or fewer than one region
        more than networks (the score is undefined then).
    """
    labels = np.asarray(networks)
    count = np.unique(labels).size
    if not 2 <= count <= labels.size - 1:
        return float("nan")
    return float(silhouette_score(np.asarray(features, dtype=np.float64), labels, metric="euclidean"))


@dataclass
class RepresentationSummary:
    """One representation of the regions, its 2-D map and how well it separates networks.

    Attributes:
        name: What the representation is (e.g. ``"SMT embedding"``, ``"raw expression"``).
        features: (R, D) representation.
        mapped: (R, 2) map.
        silhouette: Silhouette by network of the full-dimensional representation.
        silhouette_map: Silhouette by network of the 2-D map.
    """

    name: str
    features: np.ndarray
    mapped: np.ndarray
    silhouette: float
    silhouette_map: float


def summarize(
    name: str, features: np.ndarray, networks: np.ndarray, method: str, seed: int = 0
) -> RepresentationSummary:
    """Map a representation to 2-D and score both by network.

    Args:
        name: Display name.
        features: (R, D) representation.
        networks: (R,) network names.
        method: Projection method (:data:`PROJECTION_METHODS`).
        seed: Random state of the projection.

    Returns:
        The summary.
    """
    mapped = project_2d(features, method, seed)
    return RepresentationSummary(
        name,
        np.asarray(features),
        mapped,
        network_silhouette(features, networks),
        network_silhouette(mapped, networks),
    )


def embedding_map_figure(
    summaries: Sequence[RepresentationSummary],
    networks: np.ndarray,
    hemisphere: np.ndarray,
    method: str,
    title: str = "",
) -> Figure:
    """Side-by-side 2-D maps, regions coloured by network (marker: hemisphere), silhouettes in the titles.

    Args:
        summaries: The representations to draw, one panel each.
        networks: (R,) network names.
        hemisphere: (R,) "L", "R" or "M".
        method: Projection method, for the axis labels.
        title: Figure title.

    Returns:
        The figure (an Agg figure: save it, nothing to close).
    """
    names = sorted(set(np.asarray(networks).tolist()))
    colours = colormaps["tab10" if len(names) <= 10 else "tab20"]
    figure = new_figure(5.2 * len(summaries) + 1.2, 5.0)
    axes = figure.subplots(1, len(summaries), squeeze=False)
    for axis, summary in zip(axes[0], summaries, strict=True):
        for index, network in enumerate(names):
            labelled = False  # one legend entry per network, whichever hemisphere comes first
            for side, marker in _HEMISPHERE_MARKERS.items():
                chosen = (networks == network) & (hemisphere == side)
                if chosen.any():
                    axis.scatter(
                        summary.mapped[chosen, 0],
                        summary.mapped[chosen, 1],
                        s=28,
                        marker=marker,
                        color=colours(index % colours.N),
                        edgecolors="black",
                        linewidths=0.3,
                        label=None if labelled else network,
                    )
                    labelled = True
        axis.set_title(
            f"{summary.name} (D={summary.features.shape[1]})\nsilhouette by network: "
            f"{summary.silhouette:.3f} (map: {summary.silhouette_map:.3f})",
            fontsize=10,
        )
        axis.set_xlabel(f"{method.upper()} 1")
        axis.set_ylabel(f"{method.upper()} 2")
    handles, labels = axes[0][0].get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    figure.legend(
        list(unique.values()),
        list(unique.keys()),
        loc="outside right center",
        fontsize=8,
        title="network (o L, ^ R, ■ midline)",
        title_fontsize=8,
    )
    figure.suptitle(f"{title}\n{SILHOUETTE_READING}" if title else SILHOUETTE_READING, fontsize=10)
    return figure
