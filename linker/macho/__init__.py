"""Mach-O: MH_OBJECT reader, .tbd stubs, MH_EXECUTE writer (modern dyld-info and classic)."""
