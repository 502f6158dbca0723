"""``hograd.ops.composite``: what MindSpore code imports as ``C``: ``GradOperation``.

>>> from hograd.ops import composite as C
>>> grad_all = C.GradOperation(get_all=True)
"""
from __future__ import annotations

from ..core.grad import GradOperation

__all__ = ["GradOperation"]
