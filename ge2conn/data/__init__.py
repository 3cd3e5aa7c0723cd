"""ge2conn.data."""
