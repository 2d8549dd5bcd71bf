"""The report's table: fixed columns on the left, statement, reason and evidence wrapped on the right."""

from __future__ import annotations

import decimal
import shutil
import textwrap

import verify

__all__ = ["format_table", "summary"]

# Table layout: how much of the evidence a row shows (the JSON has all of it).
_EVIDENCE_ITEMS = 8
_VALUE_CHARS = 28
_LIST_ITEMS = 3


def format_table(rows, args) -> str:
    """Fixed columns on the left; statement, reason and evidence wrapped in the last one."""
    width = min(max(shutil.get_terminal_size((120, 24)).columns, 90), 160)
    id_w = max(5, *(len(r["id"]) for r in rows))
    heads = ("claim", "verdict", "seconds", "size")
    widths = [id_w, 12, 7, 18]
    text_w = max(30, width - sum(widths) - 2 * len(widths))

    def line(cells):
        return "  ".join(cell.ljust(w) if i != 2 else cell.rjust(w)
                         for i, (cell, w) in enumerate(zip(cells, widths + [text_w]))).rstrip()

    out = [f"verify report: {len(rows)} claim(s), budget {args.budget}, seed {args.seed}, verify {verify.__version__}",
           "",
           line(heads + ("statement / reason / evidence",)),
           line(["-" * w for w in widths + [text_w]])]
    for r in rows:
        text = textwrap.wrap(r["statement"], text_w) or [""]
        text += textwrap.wrap(r["reason"], text_w, initial_indent="reason: ", subsequent_indent="  ")
        if r["evidence"]:
            text += _wrap_items(_render_evidence(r["evidence"]), text_w, "evidence: ", "  ")
        size = textwrap.wrap(r["size"], widths[3]) or [""]
        left = [[r["id"]], [r["verdict"].upper()], [f"{r['seconds']:.2f}"], size]
        for k in range(max(len(text), len(size))):
            out.append(line([col[k] if k < len(col) else "" for col in left] + [text[k] if k < len(text) else ""]))
        out.append("")
    return "\n".join(out).rstrip()


def summary(rows) -> str:
    counts = {v: sum(r["verdict"] == v for r in rows) for v in ("holds", "fails", "inconclusive", "error")}
    total = sum(r["seconds"] for r in rows)
    lines = ["", f"{len(rows)} claim(s): {counts['holds']} hold, {counts['fails']} fail, "
                 f"{counts['inconclusive']} inconclusive, {counts['error']} error(s); {total:.2f} s"]
    for r in rows:
        if r["verdict"] == "fails":
            lines.append(f"FAILS {r['id']}: {r['reason']}")
        elif r["verdict"] == "error":
            lines.append(f"ERROR {r['id']}: {r['reason']} (traceback on stderr)")
    return "\n".join(lines)


def _render_evidence(evidence: dict) -> list[str]:
    """``name=value`` items: the first few entries, each value cut to a readable length."""
    items = [f"{k}={_render_value(v)}" for k, v in list(evidence.items())[:_EVIDENCE_ITEMS]]
    if len(evidence) > _EVIDENCE_ITEMS:
        items.append(f"(+{len(evidence) - _EVIDENCE_ITEMS} more in --json)")
    return items


def _wrap_items(items: list[str], width: int, first: str, indent: str) -> list[str]:
    """Comma-separated items on lines of at most ``width``, an item split only if it alone is too long."""
    lines, current = [], first
    for k, item in enumerate(items):
        piece = item + ("," if k < len(items) - 1 else "")
        if current.strip() and len(current) + len(piece) > width:
            lines.append(current.rstrip())
            current = indent
        current += piece + " "
        while len(current.rstrip()) > width:  # one item longer than a line
            lines.append(current[:width])
            current = indent + current[width:]
    return lines + [current.rstrip()]


def _render_value(v, nested: bool = False) -> str:
    if isinstance(v, float):
        text = f"{v:.4g}"
    elif isinstance(v, str):
        text = _render_number_text(v)
    elif isinstance(v, (list, dict)) and (nested or len(v) > _LIST_ITEMS):
        text = f"[{len(v)} items]" if isinstance(v, list) else f"{{{len(v)} entries}}"
    elif isinstance(v, list):
        text = "[" + ", ".join(_render_value(x, True) for x in v) + "]"
    elif isinstance(v, dict):
        text = "{" + ", ".join(f"{k}={_render_value(x, True)}" for k, x in v.items()) + "}"
    else:
        text = str(v)
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 3] + "..."


def _render_number_text(s: str) -> str:
    """A long decimal string (an mpf) shown to 12 digits, exponent kept; other strings as they are."""
    if len(s) <= _VALUE_CHARS:
        return s
    try:
        d = decimal.Decimal(s)
    except decimal.InvalidOperation:
        return s
    return f"{d:.12g}" if d.is_finite() else s
