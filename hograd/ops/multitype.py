"""``MultitypeFuncGraph`` and ``HyperMap``: MindSpore's dispatch on argument types and its map
over (nested) tuples, as plain Python — within a trace they simply run, recording the ops.

>>> add = C.MultitypeFuncGraph("add")
>>> @add.register("Tensor", "Tensor")
... def _(x, y):
...     return x + y
>>> C.HyperMap()(add, (a, b), (c, d))       # (a + c, b + d)
"""
from __future__ import annotations

import numbers
from typing import Any, Callable

__all__ = ["MultitypeFuncGraph", "HyperMap"]


def _type_name_matches(name: str, value: Any) -> bool:
    from ..core.tensor import Tensor
    checks = {
        "Tensor": lambda v: isinstance(v, Tensor),
        "Number": lambda v: isinstance(v, numbers.Number),
        "Bool": lambda v: isinstance(v, bool),
        "Int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "Float": lambda v: isinstance(v, float),
        "String": lambda v: isinstance(v, str),
        "Tuple": lambda v: isinstance(v, tuple),
        "List": lambda v: isinstance(v, list),
        "Dictionary": lambda v: isinstance(v, dict),
        "None": lambda v: v is None,
    }
    check = checks.get(name)
    if check is None:
        raise TypeError(f"MultitypeFuncGraph: unknown type name {name!r}; use one of "
                        f"{', '.join(checks)}")
    return check(value)


class MultitypeFuncGraph:
    """A function chosen by its arguments' types among those ``register``-ed for it."""

    def __init__(self, name: str, read_value: bool = False) -> None:
        self.name = name
        self._entries: list[tuple[tuple[str, ...], Callable]] = []

    def register(self, *type_names: str) -> Callable[[Callable], Callable]:
        """Decorator: use the function for arguments of these types (``"Tensor"``, ...)."""
        for name in type_names:
            _type_name_matches(name, None)  # an unknown name fails at registration
        def add(fn: Callable) -> Callable:
            self._entries.append((tuple(type_names), fn))
            return fn
        return add

    def __call__(self, *args: Any) -> Any:
        for type_names, fn in self._entries:
            if len(type_names) == len(args) and all(
                    _type_name_matches(n, a) for n, a in zip(type_names, args)):
                return fn(*args)
        given = ", ".join(type(a).__name__ for a in args)
        known = "; ".join(", ".join(t) for t, _ in self._entries) or "none"
        raise TypeError(f"MultitypeFuncGraph {self.name!r} has no function for arguments "
                        f"({given}); registered: {known}")


class HyperMap:
    """``HyperMap(fn)(*seqs)`` or ``HyperMap()(fn, *seqs)``: ``fn`` applied leaf by leaf
    across tuples/lists of the same structure (nested), giving a tuple of the results."""

    def __init__(self, ops: Callable | None = None, reverse: bool = False) -> None:
        self.ops = ops

    def __call__(self, *args: Any) -> Any:
        fn, seqs = (self.ops, args) if self.ops is not None else (args[0], args[1:])
        return _map(fn, seqs)


def _map(fn: Callable, seqs: tuple) -> Any:
    if not any(isinstance(s, (tuple, list)) for s in seqs):
        return fn(*seqs)
    lengths = {len(s) for s in seqs if isinstance(s, (tuple, list))}
    if len(lengths) != 1 or not all(isinstance(s, (tuple, list)) for s in seqs):
        raise TypeError(f"HyperMap: arguments must be tuples/lists of one length, got "
                        f"{[type(s).__name__ for s in seqs]} of lengths {sorted(lengths)}")
    return tuple(_map(fn, items) for items in zip(*seqs))
