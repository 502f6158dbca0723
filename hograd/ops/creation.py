"""Ops that make tensors from attributes or from another tensor's shape; none has a derivative."""
from __future__ import annotations

from typing import Annotated, Union

from pydantic import BeforeValidator, StrictBool, StrictFloat, StrictInt

from ..core.checkspec import checks, sample, x
from ..core.errors import OpInputError
from ..core.ir import AbstractValue
from ..core.opdef import DTypeAttr, OpDef, StrictAttrs
from .reshaping import _as_int_tuple
from .rewrites import filled_like


class FillAttrs(StrictAttrs):
    dtype: DTypeAttr
    shape: Annotated[tuple[int, ...], BeforeValidator(_as_int_tuple)]
    value: Union[StrictBool, StrictInt, StrictFloat]


def _fill_infer(*, dtype, shape, value) -> AbstractValue:
    if any(size < 0 for size in shape):
        raise OpInputError(f"shape {shape} has a negative size; every size must be 0 or more")
    return AbstractValue(shape, dtype)


OPS = [
    OpDef(name="Fill", inputs=(), infer=_fill_infer,
          attributes=FillAttrs, call_attributes=("dtype", "shape", "value"), backward=(),
          roles=("fill",), elementwise="value",
          doc="a tensor of the given dtype and shape, every element value: Fill()(dtype, shape, v)",
          checks=checks(sample(dtype="float64", shape=(2, 3), value=1.5), derivative="none",
                        reason="Fill has no tensor inputs: there is nothing to differentiate")),
    OpDef(name="ZerosLike", inputs=("x",), infer=lambda x: x, backward=(None,),
          roles=("zeros_like",), rewrites=(filled_like(0),),
          doc="zeros of x's shape and dtype",
          checks=checks(sample(x(2, 3)), sample(x()))),
    OpDef(name="OnesLike", inputs=("x",), infer=lambda x: x, backward=(None,),
          rewrites=(filled_like(1),),
          doc="ones of x's shape and dtype",
          checks=checks(sample(x(2, 3)), sample(x()))),
]
