"""The CGE-vs-distance figure of the nulls (the paper's Figure 3 idea, method §5.6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ge2conn.figures import new_figure, save_figure
from ge2conn.nulls.curves import exponential_curve
from ge2conn.nulls.generate import NullSet

PARAMETER_NOTE = (
    "fit: CGE(d) = (1 − SA_∞)·exp(−d / SA_λ) + SA_∞ (1 at 0 mm by construction); SA_λ: decay length (mm), "
    "SA_∞: CGE far away.\nerror: Σ |z| over SA_λ, SA_∞, the 4 cubic coefficients and the reassignment cost, "
    "each z-scored over the spins (unitless)."
)


def plot_null_curves(nulls: NullSet, output: str | Path, title: str = "") -> Path:
    """Save the CGE-vs-distance curves of the true brain and its nulls as a PNG (840 × 660 pixels).

    Top: the true brain with its exponential and cubic fits, the top-K nulls, the highest-error spin and a
    plain random permutation (a good null keeps the true brain's curve; a permutation flattens it to the
    mean CGE). Bottom: region pairs per distance bin, the fits' weights — the first and last bins hold few
    pairs and weigh little.

    Args:
        nulls: The scored nulls.
        output: Destination ``.png``.
        title: Figure title (default: names the number of spins).

    Returns:
        The PNG path.
    """
    distance = nulls.bin_distance
    figure = new_figure(7.0, 5.5, dpi=120)
    curves_axis, counts_axis = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3.2, 1]})
    for position, spin in enumerate(nulls.top_spins):
        curves_axis.plot(distance, nulls.curves[spin], color="tab:blue", alpha=0.45, linewidth=1.0,
                         label=f"{nulls.top} lowest-error spins (the nulls used)" if position == 0 else None)
    worst = int(nulls.error.argmax())
    curves_axis.plot(distance, nulls.curves[worst], color="tab:red", linewidth=1.2,
                     label=f"highest-error spin (error {nulls.error[worst]:.1f}, see below)")
    curves_axis.plot(distance, nulls.random_curve, color="tab:gray", linestyle="--", linewidth=1.2,
                     label="random permutation (no spatial structure)")
    curves_axis.plot(distance, nulls.true_curve, color="black", linewidth=2.2, label="true brain")
    length, plateau = (float(value) for value in nulls.true_parameters[:2])
    curves_axis.plot(distance, exponential_curve(distance, length, plateau), color="black", linestyle=":",
                     linewidth=1.3, label=f"exponential fit: SA_λ = {length:.1f} mm, SA_∞ = {plateau:.2f}")
    cubic = np.polyval(np.asarray(nulls.true_parameters[2:6], dtype=float), distance)
    curves_axis.plot(distance, cubic, color="tab:orange", linestyle="-.", linewidth=1.2, label="cubic fit")
    curves_axis.axhline(0.0, color="0.8", linewidth=0.8, zorder=0)
    curves_axis.set_ylabel("mean CGE (Pearson r of\nexpression, per bin)")
    curves_axis.legend(fontsize=7, frameon=False, loc="upper right")
    counts_axis.bar(distance, nulls.bin_counts, width=0.85 * nulls.bin_width, color="0.6")
    counts_axis.set_yscale("log")
    counts_axis.set_ylabel("region pairs\n(fit weight)")
    counts_axis.set_xlabel(f"Euclidean distance between region centroids (mm; {nulls.bin_width:g} mm bins)")
    spins = int(nulls.error.size)
    curves_axis.set_title(title or f"CGE vs distance: true brain and {spins:,} spins", fontsize=10)
    figure.text(0.01, 0.005, PARAMETER_NOTE, fontsize=6, color="0.25", va="bottom")
    figure.get_layout_engine().set(rect=(0, 0.07, 1, 0.93))  # type: ignore[union-attr, call-arg]
    return save_figure(figure, output)
