"""``report.html``: one self-contained page with the report's tables and figures (images inlined as base64).

It opens in any browser, can be mailed or attached as supplementary material, and needs no other file.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

from ge2conn.utils.atomic import atomic_output

STYLE = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1200px; color: #222; line-height: 1.4; padding: 0 1em; }
table { border-collapse: collapse; margin: 0.6em 0 1.4em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f2f2f2; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.4em 0 1.2em; }
figcaption { font-size: 0.85em; color: #555; }
"""


FIGURE_CAPTIONS = {
    "true_vs_null": "Test Pearson r per model, true vs null expression: mean with 95% CI over outer splits, "
                    "each split a dot, paired Wilcoxon p (paper Fig. 2C).",
    "network_gain": "Test r gain of true over null expression on the edges touching each network (Fig. 5B).",
    "parameters": "Trainable parameters vs test r; models without trainable parameters as dotted levels "
                  "(Fig. 5C).",
    "reconstruction": "True | predicted | residual connectome of one outer split's test regions, by network.",
    "brain_seed": "The best model's held-out FC of a seed region on the cortical surface, true above "
                  "predicted.",
    "brain_strength": "The best model's node strength over held-out edges, true above predicted.",
    "glass_brain": "The best model's strongest predicted held-out edges in a glass brain.",
}
"""Caption of each report figure, by file-name prefix (the file name follows it)."""


def figure_caption(path: Path) -> str:
    """The caption of a report figure: its description (when its prefix is known) and its file name."""
    for prefix in sorted(FIGURE_CAPTIONS, key=len, reverse=True):
        if path.stem.startswith(prefix + "_"):
            return f"{FIGURE_CAPTIONS[prefix]} ({path.name})"
    return path.name


def markdown_to_html(text: str) -> str:
    """Render the report's Markdown (``#`` headings, pipe tables, paragraphs) as HTML.

    Only what :mod:`ge2conn.experiments.report` writes is supported; other text is kept as paragraphs.

    Args:
        text: Markdown.

    Returns:
        HTML.
    """
    parts: list[str] = []
    table: list[list[str]] = []

    def flush() -> None:
        if not table:
            return
        header, *body = [row for row in table if not set("".join(row)) <= set("-: ")]
        parts.append("<table><thead><tr>" + "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
                     + "</tr></thead><tbody>"
                     + "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
                               for row in body) + "</tbody></table>")
        table.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            table.append([cell.strip() for cell in stripped.strip("|").split("|")])
            continue
        flush()
        if stripped.startswith("#"):
            level = min(6, len(stripped) - len(stripped.lstrip("#")) + 1)
            parts.append(f"<h{level}>{html.escape(stripped.lstrip('#').strip())}</h{level}>")
        elif stripped:
            parts.append(f"<p>{html.escape(stripped)}</p>")
    flush()
    return "\n".join(parts)


def write_html_report(folder: Path, title: str, tables: Sequence[Path], figures: Sequence[Path]) -> Path:
    """Write ``report.html`` in ``folder``: the tables, then every figure inlined.

    Args:
        folder: The report folder.
        title: Page title (the experiment).
        tables: Markdown files (``table1.md``, ...), shown in order.
        figures: PNG files, shown in order with their captions (:func:`figure_caption`).

    Returns:
        The HTML path.
    """
    body = [f"<h1>{html.escape(title)}</h1>"]
    for path in tables:
        if path.exists():
            body.append(markdown_to_html(path.read_text(encoding="utf-8")))
    if figures:
        body.append("<h2>Figures</h2>")
    for path in figures:
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        body.append(f'<figure><img alt="{html.escape(path.stem)}" src="data:image/png;base64,{encoded}">'
                    f"<figcaption>{html.escape(figure_caption(path))}</figcaption></figure>")
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
    destination = folder / "report.html"
    with atomic_output(destination) as temporary:
        temporary.write_text(page, encoding="utf-8")
    return destination
