"""Rule modules, one per topic; importing this package registers every rule, in the order
`--list-rules` prints them."""

from oracle.check.rules import (  # noqa: F401  (imported for registration)
    dynamic,
    entry,
    gotplt,
    hashes,
    header,
    placement,
    relocs,
    segments,
    symbols,
    versions,
)
