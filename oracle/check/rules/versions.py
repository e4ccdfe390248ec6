"""versions rules (todo)."""
