"""Reductions over axes. ``axis`` is None or ``()`` for all axes, an int, or a tuple of ints."""
from __future__ import annotations

from typing import Optional, Union

from pydantic import StrictBool, field_validator

from ..core.ir import AbstractValue
from ..core.opdef import OpDef, StrictAttrs
from .call import F
from .families import normalize_axes


class ReduceAttrs(StrictAttrs):
    keep_dims: StrictBool = False
    axis: Optional[Union[int, tuple[int, ...]]] = None

    @field_validator("axis", mode="before")
    @classmethod
    def _lists_are_tuples(cls, axis):
        if isinstance(axis, list):
            return tuple(axis)
        if axis == ():
            return None
        return axis


def _reduce_infer(x: AbstractValue, *, axis, keep_dims: bool) -> AbstractValue:
    axes = normalize_axes(axis, x.ndim)
    if keep_dims:
        shape = tuple(1 if i in axes else s for i, s in enumerate(x.shape))
    else:
        shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
    return AbstractValue(shape, x.dtype)


def _spread(g, x, axis, keep_dims):
    """Broadcast a reduced cotangent back over the reduced axes."""
    axes = normalize_axes(axis, x.ndim)
    if not keep_dims:
        g = F.reshape(g, tuple(1 if i in axes else s for i, s in enumerate(x.shape)))
    return F.broadcast_to(g, shape=x.shape)


def _mean_grad(g, out, x, *, axis, keep_dims):
    count = 1
    for a in normalize_axes(axis, x.ndim):
        count *= x.shape[a]
    return _spread(g, x, axis, keep_dims) / float(count)


OPS = [
    OpDef(name="ReduceSum", inputs=("x",), infer=_reduce_infer, attributes=ReduceAttrs,
          call_attributes=("axis",),
          backward=(lambda g, out, x, *, axis, keep_dims: _spread(g, x, axis, keep_dims),),
          doc="sum over axis"),
    OpDef(name="ReduceMean", inputs=("x",), infer=_reduce_infer, attributes=ReduceAttrs,
          call_attributes=("axis",), backward=(_mean_grad,), promotion="float",
          doc="mean over axis (integers become float32)"),
]
