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
        figures: PNG files, shown in order with their file names as captions.

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
                    f"<figcaption>{html.escape(path.name)}</figcaption></figure>")
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
    destination = folder / "report.html"
    with atomic_output(destination) as temporary:
        temporary.write_text(page, encoding="utf-8")
    return destination
