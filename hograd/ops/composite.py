"""``hograd.ops.composite``: what MindSpore code imports as ``C``: ``GradOperation``,
``MultitypeFuncGraph``, ``HyperMap``.

>>> from hograd.ops import composite as C
>>> grad_all = C.GradOperation(get_all=True)
"""
from __future__ import annotations

from ..core.grad import GradOperation
from .multitype import HyperMap, MultitypeFuncGraph

__all__ = ["GradOperation", "HyperMap", "MultitypeFuncGraph"]
