"""ge2conn.nulls."""
