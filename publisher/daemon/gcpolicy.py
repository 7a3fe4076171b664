"""The daemon's garbage-collector policy, set once when `publisher run` has built everything.

CPython's cyclic collector stops the whole process for each pass, and a full (generation-2)
pass walks every container object alive. After start-up that is about 140,000 objects (the
app, its libraries, their caches): 40–100 ms a pass on a busy machine, during which no
request is answered. Under a digest's burst of clicks that was the redirect's p99 (README
"Click analytics → Speed"). So, once, before serving:

- ``gc.collect()`` then ``gc.freeze()``: what start-up built is moved out of the collector's
  sight. It lives as long as the process anyway; garbage made later is still collected, and
  full passes walk only what was made since (the click counters hold no tracked objects at
  all: analytics/counting.py).

Reference counting is untouched: acyclic garbage is freed at once, as before. What freezing
costs is only that a cycle among the start-up objects that becomes garbage later is never
freed, and start-up objects do not become garbage in a daemon.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect once, then keep what survives out of every later pass (call it once, after
    start-up, before serving)."""
    gc.collect()
    gc.freeze()
