"""``hograd.ops``: every registered op as a class (``ops.Sin()``) and a function (``ops.sin``),
plus ``GradOperation``.

Op names are resolved through the registry on first use, so ops added by plugins appear here
exactly like the built-in ones. The op definitions themselves live in this package's modules
(``elementwise``, ``arithmetic``, ``linalg``, ``reduction``, ``reshaping``, ``selection``, ...).
"""
from __future__ import annotations

from ..core.grad import GradOperation
from ..core.registry import registry
from .call import Primitive, functional, functional_table, primitive_class


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    reg = registry()
    opdef = reg.ops.get(name) or functional_table().get(name)
    if opdef is not None and _exposed(opdef):
        return primitive_class(name) if name in reg.ops else functional(name)
    import difflib
    names = _exposed_names()
    close = difflib.get_close_matches(name, names, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise AttributeError(f"hograd.ops has no op or function named {name!r}{hint} (`hograd ops` "
                         f"lists them)")


def _exposed(opdef) -> bool:
    """Ops the tracer emits (Constant, Guard, CellCall) and adjoints only derivatives use are
    not for users."""
    return opdef.exposed and not opdef.internal


def _exposed_names() -> list[str]:
    reg = registry()
    return sorted({n for n, op in reg.ops.items() if _exposed(op)}
                  | {n for n, op in functional_table().items() if _exposed(op)})


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_exposed_names()))


__all__ = ["GradOperation", "Primitive"]
