"""``mutable(value)``: MindSpore's mark for a graph input whose value may change between calls.

MindSpore compiles a tuple or scalar input as a constant unless it is marked; hograd traces
Tensors as variables already and keys its compiled graphs on the values of Python numbers, so
a marked value is returned unchanged: a changed scalar is traced again, with correct numbers.
"""
from __future__ import annotations

from typing import Any

__all__ = ["mutable"]


def mutable(input_data: Any, dynamic_len: bool = False) -> Any:
    """``input_data`` itself (a Tensor, a number, or a tuple/list/dict of them)."""
    from ..core.pytree import flatten
    flatten(input_data)  # the same clear error as a traced argument for what cannot be one
    return input_data
