"""ge2conn.metrics."""
