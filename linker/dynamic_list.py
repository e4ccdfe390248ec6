"""GNU ld's --dynamic-list FILE: `{ name; glob*; };` names the symbols an executable
exports to .dynsym (as --export-dynamic does for every symbol).  C++ `extern "C++"` blocks
(demangled patterns) are refused in one line, as is anything but a list of names."""

from __future__ import annotations

import fnmatch
import re

from .errors import LinkError
from .input_file import read_input_text


def read_dynamic_list(path: str) -> list[str]:
    try:
        text = read_input_text(path)
    except OSError as e:
        raise LinkError(f"--dynamic-list: cannot read {path}: {e.strerror}") from None
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    text = re.sub(r"(#|//)[^\n]*", " ", text)
    if "extern" in text:
        raise LinkError(f"{path}: --dynamic-list extern \"C++\" patterns are not supported")
    body = text.strip()
    if not (body.startswith("{") and body.rstrip(";").rstrip().endswith("}")):
        raise LinkError(f"{path}: a dynamic list is {{ name; ... }};")
    inner = body[1:body.rstrip(";").rstrip().rindex("}")]
    names = [n.strip().strip('"') for n in inner.split(";") if n.strip()]
    if not names:
        # GNU ld and gold refuse `{ };` (a syntax error); lld binds every export locally
        raise LinkError(f"{path}: the dynamic list names no symbol")
    for name in names:
        if ":" in name or not re.fullmatch(r"[\w.$@*?\[\]]+", name):
            raise LinkError(f"{path}: {name!r} is not a symbol name or glob in a dynamic list")
    return names


def matches(patterns: tuple[str, ...], name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, p) if any(c in p for c in "*?[") else name == p
               for p in patterns)
