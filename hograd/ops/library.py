"""hograd's own ops, registered through the same ``hograd_ops`` hook a third-party plugin uses.

Each record carries everything about its op, its checks included (``OpDef.checks``)."""
from __future__ import annotations

from ..core.hookspecs import hookimpl
from .activation import OPS as ACTIVATION
from .arithmetic import OPS as ARITHMETIC
from .creation import OPS as CREATION
from .debug import OPS as DEBUG
from .dense_linalg import OPS as DENSE_LINALG
from .elementwise import OPS as ELEMENTWISE
from .indexing_extra import OPS as INDEXING_EXTRA
from .linalg import OPS as LINALG
from .random import OPS as RANDOM
from .reduction import OPS as REDUCTION
from .reshaping import OPS as RESHAPING
from .rounding import OPS as ROUNDING
from .selection import OPS as SELECTION
from .state import OPS as STATE
from .batch_rules import with_batch_rules
from .taylor_rules import with_taylor_rules

BUILTIN_OPS = with_taylor_rules(ELEMENTWISE + ACTIVATION + ARITHMETIC + LINALG + REDUCTION
                                + RESHAPING + CREATION + SELECTION + DEBUG
                                + ROUNDING + INDEXING_EXTRA + DENSE_LINALG + RANDOM + STATE)
BUILTIN_OPS = with_batch_rules(BUILTIN_OPS)


@hookimpl
def hograd_ops():
    return list(BUILTIN_OPS)
