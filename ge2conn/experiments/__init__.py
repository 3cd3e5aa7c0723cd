"""ge2conn.experiments."""
