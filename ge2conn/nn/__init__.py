"""ge2conn.nn."""
