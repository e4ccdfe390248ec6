"""relocs rules (todo)."""
