"""``jit``: compile a function (or a Cell's ``construct``) the way ``GRAPH_MODE`` compiles Cells.

>>> @hograd.jit
... def f(x, y):
...     return ops.sin(x) * y
>>> f(x, y)            # traced once per input signature, then the compiled graph runs

The function is traced once per input signature (shapes, dtypes, device, Python constants),
its graph simplified and compiled, and later calls run the compiled graph, in either mode.
Called inside a trace (another graph, a gradient function) it is inlined, so it differentiates
like any other code. MindSpore's options (``jit_level``, ``jit_config``, ``mode``,
``input_signature``, ``backend``, ...) are accepted and ignored: there is one compiler here.
"""
from __future__ import annotations

import functools
import weakref
from typing import Any, Callable

from ..core.cache import VariantCache
from ..core.compiled import call_compiled
from ..core.trace import current_trace

__all__ = ["jit"]


class JitFunction:
    """What ``jit(fn)`` returns: calls run ``fn``'s compiled graph; works as a method too."""

    def __init__(self, fn: Callable) -> None:
        if not callable(fn):
            raise TypeError(f"jit: expected a function, a method or a Cell class, got "
                            f"{type(fn).__name__}")
        self.fn = fn
        self._graphs = VariantCache()
        # a jit method keeps one cache per instance, so instances do not share traced constants
        self._per_instance: "weakref.WeakKeyDictionary[Any, JitFunction]" = (
            weakref.WeakKeyDictionary())
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if current_trace() is not None:
            return self.fn(*args, **kwargs)
        return call_compiled(self._graphs, self.fn, args, kwargs)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        bound = self._per_instance.get(instance)
        if bound is None:
            bound = self._per_instance[instance] = JitFunction(self.fn.__get__(instance, owner))
        return bound


def jit(function: Callable | None = None, **options: Any) -> Any:
    """Compile ``function`` as graph mode does; usable as ``@jit`` or ``@jit(jit_level="O1")``.

    On a Cell class (``@jit class Net(nn.Cell)``) its ``construct`` is compiled. ``options``
    are MindSpore's and are accepted without effect.
    """
    if function is None:
        return lambda fn: jit(fn, **options)
    if isinstance(function, type):
        # a Cell subclass: what matters is its construct (common sits below nn)
        if not callable(getattr(function, "construct", None)):
            raise TypeError(f"jit: a class must be a Cell subclass (with construct), got "
                            f"{function.__name__}")
        function.construct = JitFunction(function.construct)
        return function
    return JitFunction(function)
