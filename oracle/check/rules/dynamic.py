"""dynamic rules (todo)."""
