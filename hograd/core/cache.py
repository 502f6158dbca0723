"""Compiled variants per input signature, retraced when a recorded guard no longer holds.

Graph-mode Cells and top-level gradient functions keep one of these: a call looks up its
signature, runs the variant whose guards held last first, and traces a new variant when none
holds. Both the signatures and the variants per signature are bounded (``LIMITS``), least
recently used first out, so code that reads changing values keeps neither growing memory nor a
growing list of variants to try. Any change to a Cell's attributes moves the state epoch, which
empties every cache on its next use, so a graph never runs with a stale constant.
"""
from __future__ import annotations

import inspect
import itertools
import warnings
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Hashable

from .errors import GuardFailure, TracingError

_epoch = itertools.count()
_current_epoch = [next(_epoch)]


def bump_state_epoch() -> None:
    """Invalidate every cached graph: something a trace may have read has changed."""
    _current_epoch[0] = next(_epoch)


def state_epoch() -> int:
    return _current_epoch[0]


@dataclass
class CacheLimits:
    """How much one cache keeps. Change the fields of ``hograd.core.cache.LIMITS`` to tune.

    ``variants_per_signature``: traced variants kept for one input signature (each records a
    different set of branch decisions); ``signatures``: input signatures (shapes, dtypes,
    Python-constant arguments) kept per function; ``retrace_warning_at``: after this many
    retraces of one signature a warning says the code reads values that change between calls.
    """

    variants_per_signature: int = 8
    signatures: int = 64
    retrace_warning_at: int = 16


LIMITS = CacheLimits()


class VariantCache:
    """``call(key, run, build)``: run a cached variant for ``key``, or build one and run it.

    Variants traced before the state epoch last moved are dropped, never run.
    """

    def __init__(self) -> None:
        self._variants: OrderedDict[Hashable, list[Any]] = OrderedDict()
        self._builds: dict[Hashable, int] = {}
        self._epoch = state_epoch()

    def call(self, key: Hashable, run: Callable[[Any], Any], build: Callable[[], Any]) -> Any:
        if self._epoch != state_epoch():
            self._variants.clear()
            self._epoch = state_epoch()
        variants = self._variants.get(key)
        if variants is None:
            variants = self._variants[key] = []
            while len(self._variants) > max(1, LIMITS.signatures):
                oldest, _ = self._variants.popitem(last=False)
                self._builds.pop(oldest, None)
        else:
            self._variants.move_to_end(key)
        for position, variant in enumerate(variants):
            try:
                result = run(variant)
            except GuardFailure:
                continue
            if position:
                variants.insert(0, variants.pop(position))
            return result
        variant = build()
        variants.insert(0, variant)
        del variants[max(1, LIMITS.variants_per_signature):]
        builds = self._builds[key] = self._builds.get(key, 0) + 1
        if builds == LIMITS.retrace_warning_at:
            warnings.warn(
                f"the same input signature has been traced {builds} times because recorded "
                f"guards keep failing: the traced code branches on (or reads with "
                f"asnumpy()/float()) values that change between calls. Use ops.Select for "
                f"data-dependent choices, or PYNATIVE_MODE.", RuntimeWarning, stacklevel=3)
        try:
            return run(variant)
        except GuardFailure:
            raise TracingError(
                "the function took another branch when its graph was rerun on the very inputs "
                "it was traced with: it decides on values that change between runs (random "
                "numbers, the clock, a NaN compared with itself). Make such decisions outside "
                "the traced function, or use PYNATIVE_MODE.") from None

    def variants(self, key: Hashable) -> list[Any]:
        return list(self._variants.get(key, ()))

    def __len__(self) -> int:
        return sum(len(v) for v in self._variants.values())


class FunctionCaches:
    """A ``VariantCache`` per differentiated function (and weights), holding functions weakly.

    An entry goes when its function is collected, so gradients of fresh lambdas or closures do
    not keep them (and what they hold) alive, and a new function that happens to reuse a dead
    one's ``id`` never meets the dead one's graphs. A bound method is held through its object.
    """

    def __init__(self) -> None:
        self._entries: dict[int, tuple[Callable[[], Any], dict[Hashable, VariantCache]]] = {}

    def for_function(self, fn: Callable, weights: tuple) -> VariantCache:
        anchor, member = (fn.__self__, fn.__func__) if inspect.ismethod(fn) else (fn, None)
        key = id(anchor)
        entry = self._entries.get(key)
        if entry is None or entry[0]() is not anchor:
            entry = self._entries[key] = (self._reference(anchor, key), {})
        caches = entry[1]
        # weights stay alive while a cached graph captures them, so their ids are not reused
        # while a cache under those ids holds anything
        sub_key = (member, tuple(id(w) for w in weights))
        cache = caches.get(sub_key)
        if cache is None:
            cache = caches[sub_key] = VariantCache()
        return cache

    def _reference(self, anchor: Any, key: int) -> Callable[[], Any]:
        entries = self._entries

        def forget(reference: Any) -> None:
            entry = entries.get(key)
            if entry is not None and entry[0] is reference:
                del entries[key]

        try:
            return weakref.ref(anchor, forget)
        except TypeError:  # not weakly referenceable (some builtins): live as long as we do
            return lambda: anchor

    def __len__(self) -> int:
        return len(self._entries)
