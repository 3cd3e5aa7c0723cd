"""Build ``ge2conn/data/resources/gene_reference.tsv.gz`` from Bioconductor's org.Hs.eg.db (Debian package).

Usage::

    python scripts/build_gene_reference.py [--deb PATH] [--output PATH]

Without ``--deb`` the package is fetched with ``apt-get download r-bioc-org.hs.eg.db=3.16.0-1`` into a
temporary folder; either way its sha256 is checked against the pinned value. The SQLite database inside
(``org.Hs.eg.db/extdata/org.Hs.eg.sqlite``) gives, per Entrez gene, the official symbol (``gene_info``), its
aliases (``alias``) and the UCSC hg38 transcript locations (``chromosome_locations``: one row per transcript,
``seqname``, ``start_location``, ``end_location``; negative coordinates mean the minus strand).

Reading of method §1 ("the earliest TSS of the gene, whatever its strand"):

* A transcript's TSS is its 5' end: ``start`` on the plus strand, ``end`` on the minus strand (``|end|``).
* The gene's TSS is the smallest such coordinate over its transcripts ("earliest" along the reference
  sequence), whether the transcripts lie on the plus or minus strand; the strand column reports the strand of
  the transcript that gives that TSS.
* Only locations on the primary assembly (1..22, X, Y, MT) are used: ``*_alt``/``*_fix``/``*_random`` contigs
  have contig-relative coordinates that cannot be compared with chromosome positions. When a gene sits on
  several primary chromosomes (X/Y pseudo-autosomal genes), the first in reference order (X) is kept.
* Genes with no primary-assembly location are kept (their symbols and aliases still serve matching) with an
  empty chromosome, TSS -1 and an empty strand.

Output columns (tab-separated, gzip, deterministic bytes): ``symbol``, ``aliases`` (``|``-separated, the
symbol itself excluded), ``chromosome``, ``tss``, ``strand``; one row per Entrez gene in Entrez order.
"""

from __future__ import annotations

import argparse
import gzip
import io
import sqlite3
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from ge2conn.data.sources import sha256_of  # noqa: E402

DEBIAN_PACKAGE = "r-bioc-org.hs.eg.db"
DEBIAN_VERSION = "3.16.0-1"
DEBIAN_SHA256 = "0f61810d35b858915b1a9787d8dcab08b7e164c14c20a9e1d86eb9837308c2c2"
SQLITE_MEMBER = "usr/lib/R/site-library/org.Hs.eg.db/extdata/org.Hs.eg.sqlite"
DEFAULT_OUTPUT = REPOSITORY / "ge2conn" / "data" / "resources" / "gene_reference.tsv.gz"
PRIMARY = [str(number) for number in range(1, 23)] + ["X", "Y", "MT"]


def fetch_deb(folder: Path) -> Path:
    subprocess.run(["apt-get", "download", f"{DEBIAN_PACKAGE}={DEBIAN_VERSION}"], cwd=folder, check=True)
    found = sorted(folder.glob(f"{DEBIAN_PACKAGE}_*.deb"))
    if not found:
        raise SystemExit(f"apt-get download produced no {DEBIAN_PACKAGE} package in {folder}")
    return found[0]


def gene_rows(database: Path) -> list[tuple[str, str, str, int, str]]:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        genes = connection.execute("SELECT _id, symbol FROM gene_info ORDER BY _id").fetchall()
        aliases: dict[int, list[str]] = defaultdict(list)
        for gene, alias in connection.execute(
            "SELECT _id, alias_symbol FROM alias ORDER BY _id, alias_symbol"
        ):
            aliases[gene].append(alias)
        locations: dict[int, list[tuple[str, int, str]]] = defaultdict(list)
        query = "SELECT _id, seqname, start_location, end_location FROM chromosome_locations"
        for gene, seqname, start, end in connection.execute(query):
            name = "MT" if seqname == "M" else seqname
            if name not in PRIMARY:
                continue
            minus = start < 0
            # The 5' end of a transcript: its start on the plus strand, its end on the minus strand.
            tss = abs(end) if minus else abs(start)
            locations[gene].append((name, tss, "-" if minus else "+"))
    finally:
        connection.close()
    rows = []
    for gene, symbol in genes:
        others = [alias for alias in aliases.get(gene, []) if alias != symbol]
        chromosome, tss, strand = "", -1, ""
        if locations.get(gene):
            chromosome, tss, strand = min(locations[gene], key=lambda item: (PRIMARY.index(item[0]), item[1]))
        rows.append((symbol, "|".join(others), chromosome, tss, strand))
    return rows


def write_table(rows: list[tuple[str, str, str, int, str]], output: Path) -> None:
    text = io.StringIO()
    text.write("symbol\taliases\tchromosome\ttss\tstrand\n")
    for symbol, aliases, chromosome, tss, strand in rows:
        text.write(f"{symbol}\t{aliases}\t{chromosome}\t{tss}\t{strand}\n")
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}.tmp")
    # mtime=0 and no file name in the header keep the bytes reproducible.
    with (
        temporary.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as handle,
    ):
        handle.write(text.getvalue().encode("utf-8"))
    temporary.replace(output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deb", type=Path, help="an already downloaded r-bioc-org.hs.eg.db .deb")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        deb = arguments.deb or fetch_deb(folder)
        actual = sha256_of(deb)
        if actual != DEBIAN_SHA256:
            raise SystemExit(
                f"{deb}: sha256 {actual} differs from the pinned {DEBIAN_SHA256}; "
                f"download {DEBIAN_PACKAGE}={DEBIAN_VERSION} again"
            )
        subprocess.run(["dpkg-deb", "-x", str(deb), str(folder / "root")], check=True)
        rows = gene_rows(folder / "root" / SQLITE_MEMBER)
    write_table(rows, arguments.output)
    placed = sum(1 for row in rows if row[3] >= 0)
    print(
        f"wrote {arguments.output}: {len(rows)} genes, {placed} with a primary-assembly TSS, "
        f"{arguments.output.stat().st_size / 1e6:.2f} MB"
    )


if __name__ == "__main__":
    main()
