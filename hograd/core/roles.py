"""The few ops core itself needs, named by role, never by op: the op library says which of its
ops fills each role (``OpDef(roles=...)``), so core names no library op.

The transformers need a sum of cotangents, a filled tensor, broadcasting and its adjoint (a sum
over axes, then a reshape), a cast, products and negation for the rules they build; the
simplifier needs to recognize a filled tensor and a negation.

>>> add = role("add")            # the OpDef the library registered for the role
>>> apply(add, (a, b))
"""
from __future__ import annotations

from .opdef import OpDef

# role -> what its op must compute (the contract a library op takes on by claiming the role)
ROLES = {
    "add": "x + y with broadcasting: sums cotangents and tangents",
    "subtract": "x - y with broadcasting",
    "multiply": "x * y with broadcasting",
    "divide": "x / y with broadcasting (true division)",
    "negate": "-x",
    "fill": "a tensor of attributes (dtype, shape, value), every element value",
    "zeros_like": "zeros of x's shape and dtype",
    "broadcast_to": "x broadcast to the attribute shape",
    "cast": "x converted to the attribute dtype",
    "reduce_sum": "the sum of x over attribute axis (keep_dims attribute)",
    "reshape": "x's elements in the attribute shape",
    "transpose": "x's axes permuted by the attribute perm",
    "expand_dims": "x with a new axis of length 1 at the attribute axis",
    "stop_gradient": "x, with a zero derivative (aux outputs of the functional transforms)",
    "stack": "tensors stacked along a new attribute axis (Jacobians from rows or columns)",
    "get_item": "x at an index in normal form (core/indexing.py)",
    "concat": "tensors joined along the attribute axis",
}


def role(name: str) -> OpDef:
    """The op that fills ``name``; a clear error when no loaded plugin gives one."""
    from .registry import registry
    return registry().role(name)
