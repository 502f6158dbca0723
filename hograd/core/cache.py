"""Compiled variants per input signature, retraced when a recorded guard no longer holds.

Graph-mode Cells and top-level gradient functions keep one of these: a call looks up its
signature, runs the variant whose guards held last first, and traces a new variant when none
holds. Both the signatures and the variants per signature are bounded (``LIMITS``), least
recently used first out, so code that reads changing values keeps neither growing memory nor a
growing list of variants to try. A variant remembers the version of every Cell its trace read; a
change to one of those Cells' attributes drops it (and only it), so a graph never runs with a
stale constant while unrelated graphs stay compiled.
"""
from __future__ import annotations

import gc
import inspect
import itertools
import threading
import warnings
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Hashable

from .errors import GuardFailure, TracingError

_local = threading.local()


class StateVersioned:
    """An object whose attributes a trace may bake into a graph (a Cell): it counts its changes,
    and a graph that read it is dropped once the count moves. Nothing else retraces."""

    _state_version: int = 0

    def changed(self) -> None:
        """Say that an attribute changed: graphs that read this object are traced again."""
        object.__setattr__(self, "_state_version",
                           object.__getattribute__(self, "_state_version") + 1)
        _moved()

    def __getattribute__(self, name: str):
        # any attribute a trace reads may be baked into its graph as a constant: while a
        # graph is being built, a read (through a parent, a closure, a list) marks this object
        # as one the graph depends on
        if _local.__dict__.get("readers"):
            note_read(self)
        return object.__getattribute__(self, name)


def note_read(obj: StateVersioned) -> None:
    """Record that the graph being built reads ``obj``'s attributes (no-op outside a build)."""
    stack = getattr(_local, "readers", None)
    if stack:
        stack[-1][id(obj)] = obj  # enclosing builds get it when this one ends


def building() -> bool:
    """Whether a graph is being built in this thread (so attribute reads are to be noted)."""
    return bool(getattr(_local, "readers", None))


# moves whenever any versioned object changes or one a stamp watches dies: a stamp checked at
# the current value holds without looking at its objects (a steady call's check is one compare)
_epochs = itertools.count(1)
_epoch = 0


def _moved(_reference: Any = None) -> None:
    global _epoch
    try:
        _epoch = next(_epochs)   # a fresh value each time, so a moved epoch never reads as old
    except TypeError:   # a watched object dying while the interpreter tears this module down
        pass


class _Stamp:
    """The versions of what a variant's trace read; it holds while none of them moved."""

    __slots__ = ("_read", "_checked_at")

    def __init__(self, objects) -> None:
        self._checked_at = _epoch   # before the versions: a change meanwhile is seen next time
        self._read = tuple((weakref.ref(obj, _moved),
                            object.__getattribute__(obj, "_state_version")) for obj in objects)

    def holds(self) -> bool:
        epoch = _epoch
        if epoch == self._checked_at:
            return True
        for reference, version in self._read:
            obj = reference()
            if obj is None or object.__getattribute__(obj, "_state_version") != version:
                return False
        self._checked_at = epoch
        return True


def _stamped_build(build: Callable[[], Any]) -> tuple[Any, _Stamp]:
    readers: dict = {}
    stack = getattr(_local, "readers", None)
    if stack is None:
        stack = _local.readers = []
    # a build allocates tens of thousands of objects that live on (nodes, variables, the
    # simplifier's polynomials): the cyclic collector kept re-scanning them, a quarter of a
    # cold grad⁶ build's time; what a build leaves as garbage is collected after it. The flag
    # is the process's (as timeit and, around a fork, subprocess use it): a gc.disable()
    # another thread makes during a build is undone when the build ends
    paused = not stack and gc.isenabled()
    if paused:
        gc.disable()
    stack.append(readers)
    try:
        variant = build()
    finally:
        stack.pop()
        if paused:
            gc.enable()
    # an enclosing build (a gradient traced inside a compiled Cell) read them too
    if stack:
        stack[-1].update(readers)
    return variant, _Stamp(readers.values())


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

    A variant whose trace read a Cell that has changed since is dropped, never run.
    """

    def __init__(self) -> None:
        self._variants: OrderedDict[Hashable, list[tuple[Any, _Stamp]]] = OrderedDict()
        self._builds: dict[Hashable, int] = {}

    def call(self, key: Hashable, run: Callable[[Any], Any], build: Callable[[], Any]) -> Any:
        variants = self._variants.get(key)
        tried = None
        if variants and variants[0][1].holds():
            # the steady call: the variant that held last holds still (a guard may yet fail)
            self._variants.move_to_end(key)
            tried = variants[0]
            try:
                return run(tried[0])
            except GuardFailure:
                pass
        if variants is None:
            variants = self._variants[key] = []
            while len(self._variants) > max(1, LIMITS.signatures):
                oldest, _ = self._variants.popitem(last=False)
                self._builds.pop(oldest, None)
        else:
            self._variants.move_to_end(key)
        variants[:] = [entry for entry in variants if entry[1].holds()]
        for position, (variant, _) in enumerate(variants):
            if variants[position] is tried:
                continue   # its guard failed just now
            try:
                result = run(variant)
            except GuardFailure:
                continue
            if position:
                variants.insert(0, variants.pop(position))
            return result
        variant, stamp = _stamped_build(build)
        variants.insert(0, (variant, stamp))
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
        """The variants kept for ``key``, the one that held last first."""
        return [variant for variant, _ in self._variants.get(key, ())]

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
