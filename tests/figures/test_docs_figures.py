"""The committed example figures: every one is shown in the README, every README image is committed, small."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[2]
FIGURES = REPO / "docs" / "figures"


def test_every_example_figure_is_in_the_readme_and_small() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"\]\((docs/figures/[^)]+\.png)\)", readme))
    committed = {f"docs/figures/{path.name}" for path in FIGURES.glob("*.png")}
    assert shown == committed
    for path in FIGURES.glob("*.png"):
        assert 5_000 < path.stat().st_size < 400_000, path.name  # drawn, and light enough for a repository
        with Image.open(path) as image:
            assert min(image.size) >= 300, path.name
