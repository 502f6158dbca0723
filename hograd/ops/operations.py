"""``hograd.ops.operations``: the op classes, where MindSpore code imports them from.

>>> from hograd.ops import operations as P
>>> P.Mul()(x, y)

The same classes as ``hograd.ops.Mul``: resolved through the registry on first use, so ops a
plugin adds appear here too.
"""
from __future__ import annotations

from ..core.registry import registry
from .call import Primitive, exposed_names, is_exposed, primitive_class


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    opdef = registry().ops.get(name)
    if opdef is not None and is_exposed(opdef):
        return primitive_class(name)
    raise AttributeError(f"hograd.ops.operations has no op class named {name!r}; op classes are "
                         f"CamelCase (P.Mul, P.ReduceSum); see `hograd ops` for the list")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(exposed_names(registry().ops)))


__all__ = ["Primitive"]

from .state import Assign  # noqa: E402,F401  (writes Parameters; not a registered op)
