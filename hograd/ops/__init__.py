"""``hograd.ops``: every registered op as a class (``ops.Sin()``) and a function (``ops.sin``),
plus ``GradOperation``.

Op names are resolved through the registry on first use, so ops added by plugins appear here
exactly like the built-in ones. The op definitions themselves live in this package's modules
(``elementwise``, ``arithmetic``, ``linalg``, ``reduction``, ``reshaping``, ``selection``, ...).
"""
from __future__ import annotations

from ..core.grad import GradOperation
from ..core.registry import registry
from .call import Primitive, functional_table, primitive_class
# ``hograd.ops.functional`` is the module of lower-case functions, as in MindSpore; the
# function that builds one lives in ``call``
from .call import functional as _functional


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    reg = registry()
    if name in reg.ops:
        return primitive_class(name)
    if name in functional_table():
        return _functional(name)
    raise AttributeError(f"hograd.ops has no op or function named {name!r}; registered ops: "
                         f"{', '.join(sorted(reg.ops))}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(registry().ops) | set(functional_table()))


from . import composite, functional, operations  # noqa: E402  (MindSpore's module layout)

__all__ = ["GradOperation", "Primitive", "composite", "functional", "operations"]
