"""Break long HTML lines where a line break means nothing, so 8bit MIME stays ≤ 998 bytes.

premailer can emit one 1,000-byte line. A space between attributes, a space in text, or a
space inside a ``style`` value can become a newline without changing the page. We never
break inside other attribute values (a newline in an href would change the URL).
"""

from __future__ import annotations


def _break_line(line: str, limit: int) -> list[str]:
    out: list[str] = []
    start = 0
    used = 0
    best = -1  # index of a space that may become a newline
    after_tag = -1  # index just after a '>' outside a tag, the fallback
    in_tag = False
    quote = ""
    in_style = False
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote, in_style = "", False
            elif ch == " " and in_style:
                best = i
        elif in_tag:
            if ch in "\"'":
                quote = ch
                in_style = line[max(start, i - 8) : i].rstrip().lower().endswith("style=")
            elif ch == ">":
                in_tag = False
                after_tag = i + 1
            elif ch in " \t":
                best = i
        elif ch == "<":
            in_tag = True
        elif ch in " \t":
            best = i
        used += 1 if ch < "\x80" else len(ch.encode("utf-8"))
        if used > limit:
            if best > start:
                out.append(line[start:best])
                start = best + 1
            elif after_tag > start:
                out.append(line[start:after_tag])
                start = after_tag
            else:  # no harmless place: split anyway rather than exceed the SMTP limit
                out.append(line[start:i])
                start = i
            used = len(line[start : i + 1].encode("utf-8"))
            best = after_tag = -1
    out.append(line[start:])
    return out


def wrap_lines(html: str, limit: int = 600) -> str:
    """Every line at most ``limit`` UTF-8 bytes (leaving room for per-recipient links)."""
    lines: list[str] = []
    for line in html.splitlines():
        if len(line) * 4 <= limit or len(line.encode("utf-8")) <= limit:
            lines.append(line)
        else:
            lines.extend(_break_line(line, limit))
    return "\n".join(lines)
