"""The synthetic dataset written out as a user's import files, and the ``data import`` arguments for them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ge2conn.data.format import BrainDataset

GENES = ["APOE", "TP53", "AARS", "NOT_A_GENE", "GAPDH", "XIST"]


def write_user_files(source: BrainDataset, folder: Path) -> dict[str, Path]:
    """Write ``source`` as import inputs (real gene symbols, expression rows shuffled) into ``folder``.

    Args:
        source: The dataset (the synthetic fixture).
        folder: Where to write.

    Returns:
        File role → path (``expression.tsv``, ``fc.npy``, ``coordinates.csv``, ``regions.csv``,
        ``sphere.csv``,
        ``individual``).
    """
    files = {
        name: folder / name
        for name in ("expression.tsv", "fc.npy", "coordinates.csv", "regions.csv", "sphere.csv")
    }
    order = np.random.default_rng(0).permutation(source.num_regions)
    rows = ["label\t" + "\t".join(GENES)]
    rows += [
        "\t".join([source.region_labels[i], *(f"{v:.6f}" for v in source.expression[i, :6])]) for i in order
    ]
    files["expression.tsv"].write_text("\n".join(rows) + "\n")
    np.save(files["fc.npy"], source.connectivity)
    files["coordinates.csv"].write_text(
        "label,x,y,z\n"
        + "".join(
            f"{label},{x},{y},{z}\n"
            for label, (x, y, z) in zip(source.region_labels, source.centroids, strict=True)
        )
    )
    files["regions.csv"].write_text(
        "label,hemisphere,structure,network\n"
        + "".join(
            f"{label},{h},{s},{n}\n"
            for label, h, s, n in zip(
                source.region_labels, source.hemisphere, source.structure, source.network, strict=True
            )
        )
    )
    cortex = source.structure == "cortex"
    files["sphere.csv"].write_text(
        "label,x,y,z\n"
        + "".join(
            f"{label},{x * 100},{y * 100},{z * 100}\n"
            for label, (x, y, z) in zip(source.region_labels[cortex], source.sphere[cortex], strict=True)
        )
    )
    individual = folder / "individual"
    individual.mkdir()
    for subject, matrix in zip(source.subjects, source.individual, strict=True):
        np.save(individual / f"{subject}.npy", matrix)
    files["individual"] = individual
    return files




def import_arguments(files: dict[str, Path], **replacements: Path) -> list[str]:
    chosen = {
        "expression": files["expression.tsv"],
        "fc": files["fc.npy"],
        "coordinates": files["coordinates.csv"],
        "regions": files["regions.csv"],
        "sphere": files["sphere.csv"],
        "individual": files["individual"],
    }
    chosen.update(replacements)
    return [
        "import",
        "--name",
        "mine",
        *[item for key, value in chosen.items() for item in (f"--{key}", str(value))],
    ]


