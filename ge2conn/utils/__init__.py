"""Small utilities shared across ge2conn's packages (atomic writes, user-facing errors, ...)."""
