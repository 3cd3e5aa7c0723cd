"""ge2conn.models."""
