"""Break long HTML lines where a line break means nothing, so 8bit MIME stays ≤ 998 bytes.

premailer can emit one 1,000-byte line. A space between attributes, a space in text, or a
space inside a ``style`` value can become a newline without changing the page. We never
break inside other attribute values (a newline in an href would change the URL), nor inside
a ``%%NAME%%`` placeholder, which counts as the longest value it may receive (render/linebudget.py).

``fold_html`` does the same for text that is spliced in later (a share's note and name): it
escapes the text and folds it into short lines, at spaces where it can and with an empty
comment where a run has no space (300 "&" or 300 Hangul syllables), so the text reads the same.
"""

from __future__ import annotations

from html import escape

from publisher.render.linebudget import PLACEHOLDER, VALUE_LINE_MAX, cost

# A line break inside a comment: invisible, adds no space and no break opportunity.
SOFT_BREAK_OPEN, SOFT_BREAK_CLOSE = "<!--", "-->"


def _size(ch: str) -> int:
    return 1 if ch < "\x80" else len(ch.encode("utf-8"))


def _break_line(line: str, limit: int) -> list[str]:
    out: list[str] = []
    start = 0
    used = 0
    best = -1  # index of a space that may become a newline
    after_tag = -1  # index just after a '>' outside a tag, the fallback
    in_tag = False
    quote = ""
    in_style = False
    i = 0
    while i < len(line):
        ch = line[i]
        unit = 1
        size = _size(ch)
        if ch == "%":
            found = PLACEHOLDER.match(line, i)
            if found is not None:  # one unit, as long as its longest value
                unit, size = found.end() - i, VALUE_LINE_MAX
        if unit > 1:
            pass  # a placeholder changes no tag or quote state
        elif quote:
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
        used += size
        if used > limit:
            if best > start:
                out.append(line[start:best])
                start = best + 1
            elif after_tag > start:
                out.append(line[start:after_tag])
                start = after_tag
            elif i > start:  # no harmless place: split anyway rather than exceed the SMTP limit
                out.append(line[start:i])
                start = i
            used = cost(line[start : i + unit])
            best = after_tag = -1
        i += unit
    out.append(line[start:])
    return out


def wrap_lines(html: str, limit: int = 600) -> str:
    """Every line at most ``limit`` UTF-8 bytes (placeholders counted at their budget)."""
    lines: list[str] = []
    for line in html.splitlines():
        if ("%%" not in line and len(line) * 4 <= limit) or cost(line) <= limit:
            lines.append(line)
        else:
            lines.extend(_break_line(line, limit))
    return "\n".join(lines)


def _pieces(word: str, limit: int) -> list[str]:
    """An escaped word cut at character boundaries (never inside an entity), ≤ limit bytes each."""
    out: list[str] = []
    cur, used = "", 0
    for ch in word:
        piece = escape(ch, quote=False)
        size = len(piece.encode("utf-8"))
        if cur and used + size > limit:
            out.append(cur)
            cur, used = "", 0
        cur += piece
        used += size
    return [*out, cur]


def fold_html(text: str, limit: int = VALUE_LINE_MAX) -> str:
    """Plain text as escaped HTML: ``<br>`` between its lines, every output line ≤ limit bytes.

    Spaces become line breaks (the same whitespace to a browser); a run without spaces is cut
    with ``<!--`` CRLF ``-->``. Lines are joined with CRLF, ready for 8bit MIME.
    """
    room = limit - len(SOFT_BREAK_OPEN) - len(SOFT_BREAK_CLOSE) - len("<br>")
    paragraphs: list[str] = []
    for para in text.replace("\r\n", "\n").split("\n"):
        lines = [""]
        for word in para.split(" "):
            for n, piece in enumerate(_pieces(word, room)):
                last = lines[-1]
                if n:  # the rest of a word that did not fit on one line
                    lines[-1] = last + SOFT_BREAK_OPEN
                    lines.append(SOFT_BREAK_CLOSE + piece)
                elif not last:
                    lines[-1] = piece
                elif len((last + " " + piece).encode("utf-8")) <= room:
                    lines[-1] = f"{last} {piece}"
                else:
                    lines.append(piece)
        paragraphs.append("\r\n".join(lines))
    return "<br>\r\n".join(paragraphs)
