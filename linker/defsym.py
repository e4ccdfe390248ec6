"""`--defsym NAME=EXPR`: the expressions builds pass (a number, a symbol, a symbol plus or
minus a number), parsed for SymbolTable.define_symbols and for the loader's references."""

from __future__ import annotations

from .errors import LinkError


def parse_defsym_expression(name: str, expr: str) -> tuple[str | None, int]:
    """(symbol or None, number) for a --defsym expression: `0x10`, `sym`, `sym+4`, `sym-0x8`
    (what builds pass; GNU ld's full expression language is refused)."""
    expr = expr.strip()
    try:
        return None, _number(expr)
    except ValueError:
        pass
    for sign in ("+", "-"):
        head, op, tail = expr.partition(sign)
        if op and head.strip() and tail.strip():
            try:
                value = _number(tail.strip())
            except ValueError:
                break
            return _identifier(name, head.strip(), expr), value if sign == "+" else -value
    return _identifier(name, expr, expr), 0


def _number(text: str) -> int:
    """GNU ld's numbers: C prefixes, and K/M suffixes. As bfd_scan_vma reads them, a
    number past 64 bits saturates at 2**64-1 before the suffix scales it, and the scaling
    wraps as a 64-bit multiply does."""
    scale = {"k": 1024, "m": 1024 * 1024}.get(text[-1:].lower(), 1)
    if scale != 1:
        text = text[:-1]
    if text.lower().startswith("0x"):
        value = int(text, 16)
    elif len(text) > 1 and text.startswith("0"):
        value = int(text, 8)
    else:
        value = int(text, 10)
    value = min(value, _WORD_MASK) * scale
    return value & _WORD_MASK if value > _WORD_MASK else value


_WORD_MASK = (1 << 64) - 1


def _identifier(name: str, text: str, expr: str) -> str:
    if not text or not all(c.isalnum() or c in "_.$@" for c in text) or text[0].isdigit():
        raise LinkError(f"--defsym {name}={expr}: only NUMBER, SYMBOL and SYMBOL+/-NUMBER "
                        "expressions are supported")
    return text
