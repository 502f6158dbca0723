"""Compiled variants per input signature, retraced when a recorded guard no longer holds.

Graph-mode Cells and top-level gradient functions keep one of these: a call looks up its
signature, runs the first variant whose guards hold, and traces a new variant when none does.
Any change to a Cell's attributes moves the state epoch, which empties every cache on its next
use, so a graph never runs with a stale constant and stale graphs are not kept.
"""
from __future__ import annotations

import itertools
import warnings
from typing import Any, Callable, Hashable

from .errors import GuardFailure

_epoch = itertools.count()
_current_epoch = [next(_epoch)]


def bump_state_epoch() -> None:
    """Invalidate every cached graph: something a trace may have read has changed."""
    _current_epoch[0] = next(_epoch)


def state_epoch() -> int:
    return _current_epoch[0]


# Beyond this many variants for one signature, the traced code most likely reads a value that
# changes on every call (asnumpy() in construct); say so instead of growing silently.
RETRACE_WARNING_AT = 16


class VariantCache:
    """``call(key, run, build)``: run a cached variant for ``key``, or build one and run it.

    Variants traced before the state epoch last moved are dropped, never run.
    """

    def __init__(self) -> None:
        self._variants: dict[Hashable, list[Any]] = {}
        self._epoch = state_epoch()

    def call(self, key: Hashable, run: Callable[[Any], Any], build: Callable[[], Any]) -> Any:
        if self._epoch != state_epoch():
            self._variants.clear()
            self._epoch = state_epoch()
        variants = self._variants.setdefault(key, [])
        for variant in variants:
            try:
                return run(variant)
            except GuardFailure:
                continue
        variant = build()
        variants.append(variant)
        if len(variants) == RETRACE_WARNING_AT:
            warnings.warn(
                f"the same input signature has been traced {RETRACE_WARNING_AT} times because "
                f"recorded guards keep failing: the traced code branches on (or reads with "
                f"asnumpy()/float()) values that change between calls. Use ops.Select for "
                f"data-dependent choices, or PYNATIVE_MODE.", RuntimeWarning, stacklevel=3)
        return run(variant)

    def variants(self, key: Hashable) -> list[Any]:
        return list(self._variants.get(key, ()))

    def __len__(self) -> int:
        return sum(len(v) for v in self._variants.values())
