"""``hograd.context``: ``set_context``/``get_context`` and the modes, where MindSpore code imports
them from (``from hograd import context``). The state itself lives in core
(``hograd/core/context.py``), which the tracer and dispatcher read.

>>> from hograd import context
>>> context.set_context(mode=context.GRAPH_MODE, device_target="CPU")
"""
from .core.context import (GRAPH_MODE, NO_OP_SETTINGS, PYNATIVE_MODE, current_device,
                           current_mode, device_scope, get_context, set_context)

__all__ = ["GRAPH_MODE", "PYNATIVE_MODE", "NO_OP_SETTINGS", "set_context", "get_context",
           "device_scope", "current_mode", "current_device"]
