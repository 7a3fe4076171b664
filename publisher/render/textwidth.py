"""Plain-text wrapping by display width: Hangul and other wide characters count double."""

from __future__ import annotations

from wcwidth import wcswidth, wcwidth


def width(text: str) -> int:
    w = wcswidth(text)
    return len(text) if w < 0 else int(w)


def _char_width(ch: str) -> int:
    w = wcwidth(ch)
    return 1 if w < 0 else int(w)


def _split_long(word: str, limit: int) -> list[str]:
    """Break a word wider than the line, except URLs, which must stay whole to stay clickable."""
    if "://" in word or "@" in word:
        return [word]
    out, cur, cur_w = [], "", 0
    for ch in word:
        w = _char_width(ch)
        if cur and cur_w + w > limit:
            out.append(cur)
            cur, cur_w = "", 0
        cur += ch
        cur_w += w
    return [*out, cur] if cur else out


def wrap(text: str, cols: int = 72, indent: str = "", first: str | None = None) -> str:
    """Greedy wrap of each paragraph to ``cols`` display columns, with hanging ``indent``."""
    lead = indent if first is None else first
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        prefix = lead if not lines else indent
        limit = max(10, cols - width(prefix))
        cur, cur_w = "", 0
        for raw in para.split():
            for word in _split_long(raw, limit):
                w = width(word)
                if cur and cur_w + 1 + w > limit:
                    lines.append(prefix + cur)
                    prefix = indent
                    limit = max(10, cols - width(prefix))
                    cur, cur_w = word, w
                else:
                    cur, cur_w = (f"{cur} {word}", cur_w + 1 + w) if cur else (word, w)
        lines.append(prefix + cur)
    return "\n".join(line.rstrip() for line in lines)
