"""hograd's own ops, registered through the same ``hograd_ops`` hook a third-party plugin uses."""
from __future__ import annotations

from ..core.hookspecs import hookimpl
from .activation import OPS as ACTIVATION
from .arithmetic import OPS as ARITHMETIC
from .creation import OPS as CREATION
from .debug import OPS as DEBUG
from .elementwise import OPS as ELEMENTWISE
from .linalg import OPS as LINALG
from .reduction import OPS as REDUCTION
from .reshaping import OPS as RESHAPING
from .selection import OPS as SELECTION
from .specs import SPECS
from .structural import OPS as STRUCTURAL
from .taylor_rules import with_taylor_rules

BUILTIN_OPS = with_taylor_rules(ELEMENTWISE + ACTIVATION + ARITHMETIC + LINALG + REDUCTION
                                + RESHAPING + CREATION + SELECTION + STRUCTURAL + DEBUG)


@hookimpl
def hograd_ops():
    return list(BUILTIN_OPS)


@hookimpl
def hograd_op_specs():
    return list(SPECS)
