"""Hunting bugs in real linkers: the fuzz properties with another linker in the subject's
seat (`linkharness hunt`), and the triage of what they find (triage.py)."""
