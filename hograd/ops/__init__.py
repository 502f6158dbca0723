"""``hograd.ops``: every registered op as a class (``ops.Sin()``) and a function (``ops.sin``),
plus ``GradOperation``.

Op names are resolved through the registry on first use, so ops added by plugins appear here
exactly like the built-in ones. The op definitions themselves live in this package's modules
(``elementwise``, ``arithmetic``, ``linalg``, ``reduction``, ``reshaping``, ``selection``, ...).
"""
from __future__ import annotations

from ..core.functional import (grad, hessian, hvp, jacfwd, jacrev, jvp, value_and_grad,
                               vjp)
from ..core.grad import GradOperation
from ..core.vmap import vmap
from ..core.registry import registry
from ..taylor_api import derivative, jet
from .call import Primitive, exposed_names, functional_table, is_exposed, primitive_class
# ``hograd.ops.functional`` is the module of lower-case functions, as in MindSpore; the
# function that builds one lives in ``call``
from .call import functional as _functional
from .tensor_methods import bind_methods

bind_methods()


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    reg = registry()
    opdef = reg.ops.get(name) or functional_table().get(name)
    if opdef is not None and is_exposed(opdef):
        return primitive_class(name) if name in reg.ops else _functional(name)
    import difflib
    names = _exposed_names()
    close = difflib.get_close_matches(name, names, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise AttributeError(f"hograd.ops has no op or function named {name!r}{hint} (`hograd ops` "
                         f"lists them)")


def _exposed_names() -> list[str]:
    return sorted(set(exposed_names(registry().ops)) | set(exposed_names(functional_table())))


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_exposed_names()))


from . import composite, functional, operations  # noqa: E402  (MindSpore's module layout)

__all__ = ["GradOperation", "grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "hessian",
           "hvp", "vmap", "jet", "derivative", "Primitive", "Assign", "assign", "composite",
           "functional", "operations"]

from .state import Assign, assign  # noqa: E402  (writes Parameters; not a registered op)
