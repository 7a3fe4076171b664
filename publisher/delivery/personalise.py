"""Personalise: stored content (prepared once per variant) + a row's values → wire bytes."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from publisher.delivery.smtpwire import prepare
from publisher.messages import enqueue

_PLACEHOLDER = re.compile(r"%%[A-Z0-9_]+%%")


@dataclass(frozen=True, slots=True)
class Variant:
    raw: bytes  # as stored
    wire: enqueue.Template  # CRLF, dot-stuffed, split at the placeholders


class Personaliser:
    """Keeps the last ``size`` variants prepared; each message is then one join."""

    def __init__(
        self,
        load: Callable[[int], bytes],
        *,
        transform: Callable[[bytes], bytes] | None = None,
        size: int = 64,
    ) -> None:
        self._load = load
        self.transform = transform
        self._size = size
        self._variants: OrderedDict[int, Variant] = OrderedDict()

    def known(self) -> set[int]:
        return set(self._variants)

    def add(self, content_id: int, body: bytes) -> None:
        self._variants[content_id] = Variant(body, enqueue.Template(prepare(body)))
        while len(self._variants) > self._size:
            self._variants.popitem(last=False)

    def __call__(self, item: enqueue.Claimed) -> bytes:
        """Wire bytes for one row; ValueError for a value with a line break."""
        variant = self._variants.get(item.content_id)
        if variant is None:  # evicted by a later claim (many variants at once): reload
            self.add(item.content_id, self._load(item.content_id))
            variant = self._variants[item.content_id]
        subs = item.substitutions
        names = variant.wire.names
        fast = subs.keys() <= names or all(k in names or _PLACEHOLDER.fullmatch(k) for k in subs)
        # Values spliced into prepared (dot-stuffed) bytes must not start a line: no line
        # breaks and no leading dot. Anything else goes the slow way and is stuffed whole.
        # (A NUL-dot inside a value is taken for a leading dot: that row merely goes slowly.)
        joined = "\0".join(subs.values())
        plain = not ("\r" in joined or "\n" in joined or joined[:1] == "." or "\0." in joined)
        if plain and variant.wire.dot_risk and "" in subs.values():  # see Template.dot_risk
            plain = False
        if fast and plain and self.transform is None:
            return variant.wire.fill(item, joined)
        message = enqueue.personalise(variant.raw, item)
        if self.transform is not None:
            message = self.transform(message)
        return prepare(message)
