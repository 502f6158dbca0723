"""Deferred values: what a concrete trace would compute, computed only when something reads it.

A concrete trace records every op and *could* compute every value, but most values are never
read while tracing: a nested gradient replays its whole derived graph into the enclosing trace,
and only the compiled graph's run needs the numbers. So an op applied inside a concrete trace
gets a ``Deferred`` — its kernel, bound to its inputs' values (arrays or other ``Deferred``s) —
and the kernel runs the first time a guard, ``asnumpy()``, ``float()``, printing or an eager op
reads the tensor. Reading one value computes exactly its ancestors that are not computed yet.

A computed ``Deferred`` keeps its array and lets go of its inputs, so values nobody refers to
any more are freed as in eager execution.

>>> lazy = Deferred(np.add, (np.ones(2), Deferred(np.negative, (np.ones(2),))))
>>> lazy.get()
array([0., 0.])
"""
from __future__ import annotations

from typing import Any, Callable, Sequence


class Deferred:
    """``compute(*values of inputs)``, run once on first ``get()``; inputs may be ``Deferred``."""

    __slots__ = ("_compute", "_inputs", "_value")

    def __init__(self, compute: Callable[..., Any], inputs: Sequence[Any]) -> None:
        self._compute = compute
        self._inputs = tuple(inputs)
        self._value = None

    def get(self) -> Any:
        """The value, computing it (and whatever it needs that is not computed yet) once."""
        if self._compute is None:
            return self._value
        from .trace import Trace, current_trace
        if current_trace() is None:
            # kernels that tell tracing from running (a random op peeks at its stream, Assign
            # and Print hold back) must see what they saw when tracing computed every value
            with Trace():
                return self._evaluate()
        return self._evaluate()

    def _evaluate(self) -> Any:
        # depth first without recursion: a derived graph chains thousands of values
        stack = [self]
        while stack:
            top = stack[-1]
            if top._compute is None:
                stack.pop()
                continue
            waiting = [v for v in top._inputs if type(v) is Deferred and v._compute is not None]
            if waiting:
                stack.extend(waiting)
                continue
            stack.pop()
            top._value = top._compute(*[v._value if type(v) is Deferred else v
                                        for v in top._inputs])
            top._compute = top._inputs = None
        return self._value


def resolve(value: Any) -> Any:
    """``value`` itself, or the value of a ``Deferred``."""
    return value.get() if type(value) is Deferred else value
