"""``hograd.ops.functional``: the lower-case op functions, where MindSpore code imports them from.

>>> from hograd.ops import functional as F
>>> F.reduce_sum(F.sin(x), axis=0)

The same functions as ``hograd.ops.sin``: resolved through the registry on first use.
"""
from __future__ import annotations

from .call import exposed_names, functional, functional_table, is_exposed


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    opdef = functional_table().get(name)
    if opdef is not None and is_exposed(opdef):
        return functional(name)
    raise AttributeError(f"hograd.ops.functional has no function named {name!r}; functions are "
                         f"the ops' lower-case names (F.sin, F.reduce_sum)")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(exposed_names(functional_table())))

from .state import assign  # noqa: E402,F401  (writes Parameters; not a registered op)
