"""Hostile input: valid inputs of every kind the project reads, made by its own generators
and mutated at the byte level, must never make the linker, the checker, the field oracle or
the emulator break their rules (see rules.py).  test_hostile.py holds the Hypothesis
properties (`pytest fuzz/`), campaign.py a timed campaign for figures, atheris_main.py the
coverage-guided campaign of `make fuzz-hostile`."""
