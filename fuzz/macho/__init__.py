"""Mach-O x86-64 for the fuzz program models: a subset lowering (`lower`), an MH_OBJECT writer
(`emit_macho`), the libtrace `.tbd` stubs (`tbd`), strategies and the link/run pipeline."""
