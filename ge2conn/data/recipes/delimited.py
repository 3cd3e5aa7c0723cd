"""Reading the user's delimited text files and matrices: delimiter sniffing, labelled tables, labelled FC.

The delimiter of a text file is detected from its content, whatever its extension: comma, tab or semicolon,
whichever splits most of the first lines into as many fields (at least two) as the first line, then the most
fields, wins.
A file none of them splits that way is an error naming the character that looks like its delimiter.

An FC matrix is a ``.npy`` array or a text file, either headerless (numbers only; its order is *assumed* to be
the coordinates order, and the import says so) or labelled (a header row of region labels and an index column
of the same labels, in any order; it is aligned to the coordinates by label).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ge2conn.data.checks import check_labels, check_row_width
from ge2conn.data.errors import DatasetError

DELIMITERS = {",": "comma", "\t": "tab", ";": "semicolon"}
SNIFF_LINES = 50


def require_file(path: Path, what: str) -> None:
    """Raise a :class:`DatasetError` when ``path`` is not a file."""
    if not path.is_file():
        raise DatasetError(path, "<file>", f"no such {what} file", "check the path")


def read_text(path: Path, what: str) -> str:
    """Read a UTF-8 text file (a byte-order mark is dropped), with a clear error for binary files."""
    require_file(path, what)
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DatasetError(
            path,
            "<file>",
            f"not UTF-8 text ({error.reason} at byte {error.start})",
            "save it as UTF-8 CSV/TSV (or give the FC as .npy)",
        ) from error


def sniff_delimiter(path: Path, text: str) -> str:
    """The delimiter of a delimited text file: comma, tab or semicolon.

    Args:
        path: The file (for messages).
        text: Its contents.

    Returns:
        The delimiter character.

    Raises:
        DatasetError: naming the character that looks like the delimiter when none of the three fits.
    """
    lines = [line for line in text.splitlines()[:SNIFF_LINES] if line.strip()]
    if not lines:
        raise DatasetError(path, "<file>", "empty file", "give a header row and one row per region")
    best, best_score = "", (0, 0)
    for delimiter in DELIMITERS:
        widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        # Lines as wide as the first one, then the width: a truncated last line does not change the verdict.
        score = (sum(width == widths[0] for width in widths), widths[0])
        if widths[0] >= 2 and 2 * score[0] > len(widths) and score > best_score:
            best, best_score = delimiter, score
    if best:
        return best
    punctuation = Counter(char for char in lines[0] if not char.isalnum() and char not in " _.-+\"'")
    found = ", ".join(f"{char!r} ×{count}" for char, count in punctuation.most_common(3)) or "none"
    raise DatasetError(
        path,
        "<delimiter>",
        "cannot tell the column delimiter: no comma, tab or semicolon splits "
        f"the first lines into equal numbers of fields (other separators in line 1: {found})",
        "separate columns with commas (CSV), tabs (TSV) or semicolons, the same count on every line",
    )


def read_rows(path: Path, what: str) -> list[list[str]]:
    """Read a delimited text file into rows of stripped cells (delimiter sniffed; blank lines dropped)."""
    text = read_text(path, what)
    delimiter = sniff_delimiter(path, text)
    return [
        [cell.strip() for cell in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row
    ]


def read_table(path: Path, required: list[str]) -> list[dict[str, str]]:
    """Read a small delimited table with a header, checking the required columns and labels.

    Args:
        path: File.
        required: Columns that must be present (the first is the label column).

    Returns:
        One dict per row.

    Raises:
        DatasetError: for a missing column, a short row, or empty/duplicated labels.
    """
    rows = read_rows(path, "table")
    if len(rows) < 2:
        raise DatasetError(
            path, "<file>", "no data rows", f"give a header row ({', '.join(required)}) and data"
        )
    header = rows[0]
    missing = [name for name in required if name not in header]
    if missing:
        raise DatasetError(
            path,
            missing[0],
            f"column missing (header: {header[:6]})",
            f"name the columns {', '.join(required)}",
        )
    table = []
    for number, row in enumerate(rows[1:], start=2):
        check_row_width(path, number, row, header)
        table.append(dict(zip(header, row, strict=True)))
    check_labels(path, required[0], [row[required[0]] for row in table])
    return table


@dataclass(frozen=True)
class LabelledMatrix:
    """A square matrix read from a file, with the region labels it carried (None when headerless).

    Attributes:
        values: The (n, n) float64 matrix.
        labels: Row (= column) labels in the file's order, or None.
    """

    values: np.ndarray
    labels: list[str] | None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_value(text: str) -> bool:
    return text == "" or _is_number(text)


def _numbers(path: Path, what: str, rows: list[list[str]], first_row: int) -> np.ndarray:
    try:
        return np.array([[float(cell) if cell else np.nan for cell in row] for row in rows], dtype=np.float64)
    except ValueError as error:
        raise DatasetError(
            path,
            what,
            f"non-numeric value in the matrix from line {first_row} on ({error})",
            "give numbers only (use '.' as the decimal mark), with at most a header row and an "
            "index column of region labels",
        ) from error


def read_square_matrix(path: Path, what: str) -> LabelledMatrix:
    """Read an FC matrix: ``.npy``, headerless text, or text with a label header row and index column.

    Args:
        path: The file.
        what: Field name for messages (``fc``, ``individual``).

    Returns:
        The matrix and its labels (None when the file carries none).

    Raises:
        DatasetError: when the file cannot be read, is not square, or its row and column labels differ.
    """
    if path.suffix.lower() == ".npy":
        require_file(path, what)
        try:
            matrix = np.asarray(np.load(path, allow_pickle=False), dtype=np.float64)
        except (ValueError, OSError, EOFError, TypeError) as error:
            raise DatasetError(
                path,
                what,
                f"cannot be read as a numeric matrix ({error})",
                "the file is truncated or malformed; give a .npy array or a CSV",
            ) from error
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise DatasetError(
                path,
                what,
                f"expected a square 2-D matrix, got shape {matrix.shape}",
                "give one (regions × regions) matrix",
            )
        return LabelledMatrix(matrix, None)
    rows = read_rows(path, what)
    if not rows:
        raise DatasetError(path, what, "empty file", "give one (regions × regions) matrix")
    header_is_labels = not all(_is_value(cell) for cell in rows[0][1:])
    index_is_labels = not all(_is_value(row[0]) for row in rows[1:])
    if (
        not _is_number(rows[0][0])
        and len(rows) == len(rows[0])
        and all(cell.isdigit() for cell in rows[0][1:] + [row[0] for row in rows[1:]])
    ):
        header_is_labels = index_is_labels = (
            True  # integer region ids as labels, under a blank or named corner
        )
    if header_is_labels and index_is_labels:
        column_labels, row_labels = rows[0][1:], [row[0] for row in rows[1:]]
        if column_labels != row_labels:
            raise DatasetError(
                path,
                "<labels>",
                f"row labels {row_labels[:4]}… and column labels {column_labels[:4]}… differ",
                "label the rows and the columns with the same regions in the same order",
            )
        check_labels(path, "<labels>", row_labels)
        matrix = _numbers(path, what, [row[1:] for row in rows[1:]], 2)
        labels: list[str] | None = row_labels
    elif header_is_labels or index_is_labels:
        raise DatasetError(
            path,
            "<labels>",
            "the file has region labels on one side only (a header row "
            "without an index column, or the reverse)",
            "give both a header row and an index column of region labels, or neither",
        )
    else:
        matrix, labels = _numbers(path, what, rows, 1), None
        size = matrix.shape[1]
        if matrix.shape[0] == size + 1 and matrix[0].tolist() in (
            list(range(size)),
            list(range(1, size + 1)),
        ):
            matrix = matrix[1:]  # a header row of column numbers (e.g. UK Biobank's FC CSV) carries no labels
    if matrix.shape[0] != matrix.shape[1]:
        raise DatasetError(
            path,
            what,
            f"not square: {matrix.shape[0]} rows × {matrix.shape[1]} columns",
            "give one (regions × regions) matrix",
        )
    return LabelledMatrix(matrix, labels)


def align_matrix(
    path: Path, what: str, matrix: LabelledMatrix, labels: list[str], coordinates: Path
) -> tuple[np.ndarray, str]:
    """Put a matrix in the coordinates' region order.

    Args:
        path: The matrix file.
        what: Field name for messages.
        matrix: The matrix as read.
        labels: Region labels in the coordinates order.
        coordinates: The coordinates file (named in messages and notes).

    Returns:
        The aligned matrix and a note saying how its order was decided.

    Raises:
        DatasetError: when the sizes or the region sets differ (naming the labels).
    """
    size = len(labels)
    if matrix.labels is None:
        if matrix.values.shape != (size, size):
            raise DatasetError(
                path,
                what,
                f"expected shape ({size}, {size}) to match the {size} regions of "
                f"{coordinates}, got {matrix.values.shape}",
                "order the matrix like the "
                "coordinates rows, or add a header row and index column of region labels",
            )
        return matrix.values, (
            f"{what} {path.name}: no region labels, rows and columns assumed in the order "
            f"of {coordinates.name} ({labels[0]}, {labels[1] if size > 1 else ''}, …)"
        )
    missing = [label for label in labels if label not in set(matrix.labels)]
    unknown = [label for label in matrix.labels if label not in set(labels)]
    if missing or unknown:
        raise DatasetError(
            path,
            "<labels>",
            f"region labels differ from {coordinates.name}: missing "
            f"{missing[:5]}{' …' if len(missing) > 5 else ''}, not in the coordinates "
            f"{unknown[:5]}{' …' if len(unknown) > 5 else ''}",
            "use the same region labels in every input file",
        )
    position = {label: index for index, label in enumerate(matrix.labels)}
    order = np.array([position[label] for label in labels])
    return matrix.values[
        np.ix_(order, order)
    ], f"{what} {path.name}: aligned to {coordinates.name} by region label"
