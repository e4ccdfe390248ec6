"""gotplt rules (todo)."""
