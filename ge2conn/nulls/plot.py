"""The CGE-vs-distance figure of the nulls (the paper's Figure 3 idea, method §5.6)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ge2conn.nulls.curves import exponential_curve
from ge2conn.nulls.generate import NullSet


def plot_null_curves(nulls: NullSet, output: str | Path, title: str = "") -> Path:
    """Save the CGE-vs-distance curves of the true brain and its nulls as a PNG.

    Draws the true brain (with its exponential fit), the top-K nulls, the highest-error spin and a plain
    random permutation. A good null keeps the true brain's curve; a plain permutation flattens it to the
    mean CGE.

    Args:
        nulls: The scored nulls.
        output: Destination ``.png``.
        title: Figure title.

    Returns:
        The PNG path.
    """
    destination = Path(output)
    destination.parent.mkdir(parents=True, exist_ok=True)
    distance = nulls.bin_distance
    # The Agg canvas directly, not pyplot: no global backend switch, no figure registry to leak into.
    figure = Figure(figsize=(7.0, 4.5), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for position, spin in enumerate(nulls.top_spins):
        axes.plot(distance, nulls.curves[spin], color="tab:blue", alpha=0.45, linewidth=1.0,
                  label=f"top-{nulls.top} spins (lowest error)" if position == 0 else None)
    worst = int(nulls.error.argmax())
    axes.plot(distance, nulls.curves[worst], color="tab:red", linewidth=1.3,
              label=f"highest-error spin (error {nulls.error[worst]:.1f})")
    axes.plot(distance, nulls.random_curve, color="tab:gray", linestyle="--", linewidth=1.3,
              label="random permutation")
    axes.plot(distance, nulls.true_curve, color="black", linewidth=2.2, label="true brain")
    length, plateau = nulls.true_parameters[:2]
    axes.plot(distance, exponential_curve(distance, length, plateau), color="black", linestyle=":",
              linewidth=1.2, label=f"true fit: SA_λ={length:.1f} mm, SA_∞={plateau:.2f}")
    axes.axhline(0.0, color="0.8", linewidth=0.8, zorder=0)
    axes.set_xlabel("Euclidean distance (mm)")
    axes.set_ylabel(f"mean CGE ({nulls.bin_width:g} mm bins)")
    axes.set_title(title or f"CGE vs distance: true brain and {nulls.num_spins} spins")
    axes.legend(fontsize=8, frameon=False)
    figure.tight_layout()
    figure.savefig(destination)
    return destination
