"""Run the whole benchmark suite (``make bench``) and print one markdown table of the results.

Every benchmark runs as its own subprocess (so its timings and peak RSS are its own), in this order:

1. ``bench_training.py --quick``: SMT and MLP training steps on the synthetic S456 dataset against the naive
   reference pipeline; SMT with bf16 autocast; SMT on dk82;
2. ``bench_inference.py --quick``: SMT predictions for all 103,740 S456 edges (baseline extrapolated);
3. ``bench_metrics.py``: every edge metric on all 103,740 edges;
4. ``bench_datamodule.py``: the data pipeline's batches/s;
5. ``bench_nulls.py``: spin nulls (10,000 spins at 456 regions) against a one-spin-at-a-time reference.

Our scripts write JSON rows; the others' printed results are parsed. A benchmark that fails or times out
leaves a row saying so, and the suite goes on. On CPU the suite takes about 15–20 minutes on 2 busy cores.

Run: ``.venv/bin/python benchmarks/run_all.py [--device cuda] [--only training,inference] [--json-out F]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.harness import Row, machine_note, print_rows  # noqa: E402

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable


def run_script(name: str, arguments: list[str], timeout_s: float) -> tuple[str, float, str | None]:
    """Run ``benchmarks/<name>`` and return (stdout, seconds, error or None)."""
    environment = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    start = time.perf_counter()
    try:
        result = subprocess.run([PYTHON, str(HERE / name), *arguments], capture_output=True, text=True,
                                env=environment, timeout=timeout_s, cwd=REPO, check=False)
    except subprocess.TimeoutExpired as error:
        output = error.stdout.decode() if isinstance(error.stdout, bytes) else (error.stdout or "")
        return output, time.perf_counter() - start, f"timed out after {timeout_s:.0f} s"
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        return result.stdout, seconds, f"exit {result.returncode}: {result.stderr.strip()[-300:]}"
    return result.stdout, seconds, None


def own_script(name: str, arguments: list[str], timeout_s: float) -> list[Row]:
    """Run one of our scripts with ``--json-out`` and load its rows."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "rows.json"
        _, seconds, error = run_script(name, [*arguments, "--json-out", str(output)], timeout_s)
        if error is not None or not output.exists():
            return [failed(name, " ".join(arguments), error or "no rows written")]
        rows = []
        for item in json.loads(output.read_text()):
            item.pop("ratio", None)
            rows.append(Row(**item))
    print(f"  {name} {' '.join(arguments)}: {seconds:.0f} s", file=sys.stderr, flush=True)
    return rows


def failed(name: str, workload: str, error: str) -> Row:
    """A row that records a failed benchmark."""
    return Row(name.removesuffix(".py"), workload, "FAILED", float("nan"), notes=error.replace("|", "/"))


def metrics_rows(device: str, timeout_s: float) -> list[Row]:
    """Parse bench_metrics.py's one-line result."""
    output, _, error = run_script("bench_metrics.py", ["--device", device], timeout_s)
    match = re.search(r"(\d+) regions, (\d+) edges, (\d+) metrics.*?update ([\d.]+) ms "
                      r"\+ compute ([\d.]+) ms, total ([\d.]+) ms \(median of (\d+)\)", output)
    if error is not None or match is None:
        return [failed("bench_metrics.py", "all edges", error or f"unparsed output: {output[-200:]}")]
    regions, edges, metrics, update, compute, total, runs = match.groups()
    return [Row("metrics", f"{regions} regions, all {int(edges):,} edges", "update + compute (s)",
                float(total) / 1e3, None, "s", int(runs),
                notes=f"{metrics} metrics; update {update} ms + compute {compute} ms; batches of 4,096")]


def datamodule_rows(device: str, timeout_s: float) -> list[Row]:
    """Parse bench_datamodule.py's per-stage lines (it reports the best of its repeats)."""
    output, _, error = run_script("bench_datamodule.py", ["--device", device], timeout_s)
    header = re.search(r"(\d+) regions × (\d+) genes, (\d+) training edges, batch (\d+)", output)
    line_pattern = r"^(.+?)\s+(\d+) batches in\s+([\d.]+) s =\s+([\d.]+) batches/s \(\s*([\d.]+) M edges/s\)"
    lines = re.findall(line_pattern, output, flags=re.MULTILINE)
    if error is not None or header is None or not lines:
        return [failed("bench_datamodule.py", "epoch", error or f"unparsed output: {output[-200:]}")]
    regions, genes, edges, batch = header.groups()
    return [Row("datamodule", f"{regions} × {genes}, {int(edges):,} edges, B={batch}: {name.strip()}",
                "epoch (s)", float(seconds), None, "s", 3,
                notes=f"{float(rate):.0f} batches/s = {float(million)} M edges/s; best of 3 (its own choice)")
            for name, _, seconds, rate, million in lines]


def markdown_table(output: str) -> list[dict[str, str]]:
    """The rows of the first markdown table in ``output``, as {lower-cased header: cell} dicts."""
    lines = [line.strip() for line in output.splitlines() if line.strip().startswith("|")]
    if len(lines) < 2:
        return []
    header = [cell.strip().lower() for cell in lines[0].strip("|").split("|")]
    return [dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=False))
            for line in lines[2:]]


def _number(text: str | None) -> float | None:
    match = re.search(r"[\d,]*\.?\d+", text or "")
    return None if match is None else float(match.group().replace(",", ""))


def _column(row: dict[str, str], *names: str) -> str | None:
    # bench_nulls.py is still evolving: find columns by name fragments instead of by position.
    for name in names:
        for header, value in row.items():
            if header.startswith(name):
                return value
    return None


def nulls_rows(timeout_s: float, skip_dk82: bool) -> list[Row]:
    """Parse bench_nulls.py's markdown table; batched 10,000-spin rows get the reference as baseline."""
    output, _, error = run_script("bench_nulls.py", ["--skip-dk82"] if skip_dk82 else [], timeout_s)
    rows: list[Row] = []
    reference: dict[str, float] = {}
    for cells in markdown_table(output):
        label, spins = cells.get("workload", ""), _number(_column(cells, "spins"))
        seconds = _number(_column(cells, "wall", "seconds"))
        extrapolated = _number(_column(cells, "10,000"))
        if not label or spins is None or seconds is None:
            continue
        dataset = label.split()[0]
        if "reference" in label:
            if extrapolated is not None:
                reference[dataset] = extrapolated
            continue
        regions = _column(cells, "regions") or "?"
        rows.append(Row("nulls", f"{dataset} ({regions} regions) {label.split(maxsplit=1)[-1]}",
                        f"{spins:,.0f} spins (s)", seconds, None, "s", 1, _number(_column(cells, "peak rss")),
                        notes=f"CPU {_column(cells, 'cpu') or '?'} s" if _column(cells, "cpu") else ""))
    for row in rows:
        dataset = row.workload.split()[0]
        if row.metric.startswith("10,000") and dataset in reference:
            row.baseline = reference[dataset]
            row.notes += "; baseline: one-spin-at-a-time reference on a few spins, extrapolated"
    if error is not None or not rows:
        rows.append(failed("bench_nulls.py", "spins", error or f"unparsed output: {output[-200:]}"))
    return rows


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--device", default="cpu", help="cpu or cuda (for the benchmarks that take it)")
    options.add_argument("--only", default="training,inference,metrics,datamodule,nulls",
                         help="comma-separated subset of the benchmarks")
    options.add_argument("--timeout", type=float, default=900, help="seconds allowed per benchmark script")
    options.add_argument("--with-dk82-nulls", action="store_true", help="also time nulls on dk82")
    options.add_argument("--json-out", help="also write every row to this JSON file")
    arguments = options.parse_args(argv)
    selected = set(arguments.only.split(","))
    device, timeout = arguments.device, arguments.timeout
    common = ["--quick", "--device", device]
    start = time.perf_counter()
    load_before = os.getloadavg()[0]
    rows: list[Row] = []
    if "training" in selected:
        rows += own_script("bench_training.py", [*common, "--dataset", "s456", "--model", "smt"], timeout)
        rows += own_script("bench_training.py", [*common, "--dataset", "s456", "--model", "smt",
                                                 "--precision", "bf16", "--skip-baseline"], timeout)
        rows += own_script("bench_training.py", [*common, "--dataset", "s456", "--model", "mlp"], timeout)
        rows += own_script("bench_training.py", [*common, "--dataset", "dk82", "--model", "smt",
                                                 "--skip-baseline"], timeout)
    if "inference" in selected:
        rows += own_script("bench_inference.py", [*common, "--dataset", "s456", "--model", "smt"], timeout)
    if "metrics" in selected:
        rows += metrics_rows(device, timeout)
    if "datamodule" in selected:
        rows += datamodule_rows(device, timeout)
    if "nulls" in selected:
        rows += nulls_rows(timeout, skip_dk82=not arguments.with_dk82_nulls)
    print(f"\nge2conn benchmarks ({machine_note()}; load average {load_before:.1f} at the start; "
          f"suite took {time.perf_counter() - start:.0f} s)\n")
    print_rows(rows)
    if arguments.json_out:
        Path(arguments.json_out).write_text(json.dumps([{**row.__dict__, "ratio": row.ratio} for row in rows],
                                                       indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
