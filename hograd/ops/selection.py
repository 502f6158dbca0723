"""Comparisons, choosing between tensors, casting and stopping gradients."""
from __future__ import annotations

from .. import dtype as dt
from ..core.checkspec import checks, fixed, sample, x
from ..core.errors import OpDtypeError
from ..core.ir import AbstractValue
from ..core.opdef import DTypeAttr, OpDef, StrictAttrs
from .call import F
from .families import broadcast_shapes, comparison, linear_jvp, same_dtype
from .rewrites import moved_fill


class CastAttrs(StrictAttrs):
    dtype: DTypeAttr


def _select_infer(condition: AbstractValue, x: AbstractValue, y: AbstractValue) -> AbstractValue:
    if condition.dtype is not dt.bool_:
        raise OpDtypeError(f"input 'condition' must be bool, got {condition.dtype.name}; "
                           f"compare first (x > 0)")
    dtype = same_dtype(("x", "y"), x, y)
    shape = broadcast_shapes(condition.shape, x.shape, y.shape, names=("condition", "x", "y"))
    return AbstractValue(shape, dtype)


BOOL_2x3 = fixed([[True, False, True], [False, False, True]], "bool")

OPS = [
    comparison("Equal", doc="x == y", elementwise="x == y"),
    comparison("NotEqual", doc="x != y", elementwise="x != y"),
    comparison("Less", doc="x < y", elementwise="x < y"),
    comparison("LessEqual", doc="x <= y", elementwise="x <= y"),
    comparison("Greater", doc="x > y", elementwise="x > y"),
    comparison("GreaterEqual", doc="x >= y", elementwise="x >= y"),
    OpDef(name="Select", inputs=("condition", "x", "y"), infer=_select_infer,
          promotion="common", promoted_inputs=(1, 2), aliases=("Where",),
          backward=(None,
                    lambda g, out, c, x, y: F.select(c, g, F.zeros_like(g)),
                    lambda g, out, c, x, y: F.select(c, F.zeros_like(g), g)),
          forward=linear_jvp("Select"), doc="x where condition holds, else y (broadcasting)",
          checks=checks(sample(BOOL_2x3, x(2, 3), x(3))),
          elementwise="where(condition, x, y)"),
    OpDef(name="Cast", inputs=("x",), infer=lambda x, *, dtype: AbstractValue(x.shape, dtype),
          attributes=CastAttrs, call_attributes=("dtype",),
          # the transformer casts the cotangent back to the input's dtype
          backward=(lambda g, out, x, *, dtype: g,), forward=linear_jvp("Cast"),
          roles=("cast",), rewrites=(moved_fill,),
          doc="convert to dtype: Cast()(x, dtype)",
          checks=checks(sample(x(2, 3), dtype="float64"), sample(x(2, 3), dtype="float32"),
                        eps=1e-2, rtol=1e-4, atol=1e-6)),
    OpDef(name="StopGradient", inputs=("x",), roles=("stop_gradient",), infer=lambda x: x, backward=(None,),
          doc="x, with a zero derivative",
          checks=checks(sample(x(2, 3)), derivative="zero",
                        reason="stop_gradient's derivative is zero by definition")),
]
