"""Package data: the gene reference table (built by scripts/build_gene_reference.py)."""
