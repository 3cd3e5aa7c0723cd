"""ge2conn.callbacks."""
