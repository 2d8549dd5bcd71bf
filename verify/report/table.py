"""The report's text: the header, the verdict table, the ``--verbose`` details and the summary.

The table has one row per claim: claim, verdict, seconds, the number of findings, and in the
last column the reason's first sentence and the sizes checked, wrapped at word boundaries to the
terminal's width.  Nothing is ever cut inside a word or a number; what the table leaves out (the
rest of the reason, the statement, the evidence, the findings) is in ``--verbose`` and ``--json``,
whole.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap

import verify

__all__ = ["header", "format_table", "details", "summary", "first_sentence", "finding_text"]

_HEADS = ("claim", "verdict", "seconds", "findings")
_VERDICT_W, _SECONDS_W, _FINDINGS_W = 12, 7, 8


def _width() -> int:
    return min(max(shutil.get_terminal_size((120, 24)).columns, 80), 160)


def _wrap(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    """Wrap at spaces only: a word, a number or a path longer than the line stays whole."""
    return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest, break_long_words=False,
                         break_on_hyphens=False) or [first.rstrip()]


def header(args, count: int | None = None) -> str:
    """The first line of ``verify report``: printed before anything is imported or run."""
    claims = f"{count} claim(s)" if count else "all claims"
    limit = args.time_limit
    limit_text = f"time limit {limit:g} s per claim" if limit else "no time limit"
    return (f"verify report: {claims}, budget {args.budget}, seed {args.seed}, {limit_text}, "
            f"verify {verify.__version__}")


def first_sentence(text: str) -> str:
    """The reason up to its first full stop followed by a capital letter (or the whole reason)."""
    m = re.search(r"[.!?](?=\s+[A-Z])", text)
    return text[: m.end()] if m else text


def format_table(rows) -> str:
    """The verdict table (see the module doc)."""
    width = _width()
    id_w = max(5, *(len(r["id"]) for r in rows)) if rows else 5
    widths = [id_w, _VERDICT_W, _SECONDS_W, _FINDINGS_W]
    text_w = max(30, width - sum(widths) - 2 * len(widths))
    pad = " " * (sum(widths) + 2 * len(widths))

    def line(cells, text):
        left = "  ".join(c.rjust(w) if i >= 2 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
        return (left + "  " + text).rstrip()

    out = [line(_HEADS, "reason and sizes checked (details: --verbose)"),
           line(["-" * w for w in widths], "-" * text_w), ""]
    for r in rows:
        reason = first_sentence(r["reason"])
        more = " (more: --verbose)" if reason != r["reason"] else ""
        text = _wrap(reason + more, text_w)
        if r.get("size"):
            text += _wrap(r["size"], text_w, "size: ", "  ")
        if r.get("gap"):
            text += _wrap(r["gap"], text_w, "gap to the theorem: ", "  ")
        cells = [r["id"], r["verdict"].upper(), f"{r['seconds']:.2f}", str(len(r.get("findings", [])))]
        out.append(line(cells, text[0]))
        out.extend((pad + t).rstrip() for t in text[1:])
        out.append("")
    return "\n".join(out).rstrip()


def details(rows) -> str:
    """``--verbose``: for each claim its statement, whole reason, sizes, evidence and findings, each
    value whole (wrapped at spaces, never cut)."""
    width = _width()
    out = ["", "Details (the same values as --json)"]
    for r in rows:
        out += ["", f"{r['id']}: {r['verdict'].upper()} in {r['seconds']:.2f} s"]
        out += _wrap(r["statement"], width, "  statement: ", "    ")
        out += _wrap(r["reason"], width, "  reason: ", "    ")
        if r.get("size"):
            out += _wrap(r["size"], width, "  size: ", "    ")
        if r.get("gap"):
            out += _wrap(r["gap"], width, "  gap to the theorem: ", "    ")
        if r.get("evidence"):
            out.append("  evidence:")
            for key, value in r["evidence"].items():
                out += _wrap(_value_text(value), width, f"    {key} = ", "        ")
        findings = r.get("findings", [])
        out.append(f"  findings: {len(findings)}" if not findings else "  findings:")
        for f in findings:
            out += _wrap(finding_text(f), width, "    - ", "      ")
        if r.get("figures"):
            out += _wrap(", ".join(r["figures"]), width, "  figures: ", "    ")
    return "\n".join(out)


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


def finding_text(f) -> str:
    """A finding (its JSON dict) as one sentence: name = value +- uncertainty over window (law; relation). note"""
    if not isinstance(f, dict) or "name" not in f:
        return _value_text(f)
    value = f.get("value")
    text = f"{f['name']} = {_number(value)}"
    if f.get("uncertainty") is not None:
        text += f" +- {_number(f['uncertainty'])}"
    if f.get("window"):
        text += f" over {f['window']}"
    inside = "; ".join(x for x in (f.get("law"), f.get("relation")) if x)
    text += f" ({inside})" if inside else ""
    return text + (f". {f['note']}" if f.get("note") else "")


def _number(x) -> str:
    return f"{x:.6g}" if isinstance(x, float) else _value_text(x)


def _value_text(value) -> str:
    """A JSON value as text: strings as they are, a finding's text fields first, the rest as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return "; ".join(f"{k}: {_value_text(v)}" for k, v in value.items())
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
