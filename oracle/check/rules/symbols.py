"""symbols rules (todo)."""
