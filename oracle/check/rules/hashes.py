"""hashes rules (todo)."""
