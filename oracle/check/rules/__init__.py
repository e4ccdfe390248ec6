"""Rule modules, one per topic.  Importing this package registers every rule, in the order
`--list-rules` prints them: the order in which a loader meets the structures."""

import importlib

TOPICS = ("header", "segments", "placement", "entry", "dynamic", "init", "hashes", "relocs",
          "pic", "gotplt", "symbols", "versions", "ifunc", "ehframe", "buildid", "property",
          "dwarf", "emitted")

for _topic in TOPICS:
    importlib.import_module(f"oracle.check.rules.{_topic}")
