"""Positions of extremes and one-hot encodings: ``Argmax``, ``Argmin``, ``ArgMaxWithValue``,
``ArgMinWithValue``, ``OneHot``.

Indices are integers and carry no derivative; the value of ``ArgMaxWithValue`` is a
``ReduceMax``, so it differentiates like one. ``OneHot`` picks ``on_value`` or ``off_value``
with ``Select``, so both get their gradients.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from pydantic import StrictBool

from .. import dtype as dt
from ..core.checkspec import checks, fixed, sample, x
from ..core.errors import OpInputError
from ..core.ir import AbstractValue
from ..core.opdef import DTypeAttr, OpDef, StrictAttrs
from .call import F


class ArgAttrs(StrictAttrs):
    axis: Optional[int] = -1
    output_type: DTypeAttr = dt.int32
    keep_dims: StrictBool = False


class ArgWithValueAttrs(StrictAttrs):
    axis: int = 0
    keep_dims: StrictBool = False


class OneHotAttrs(StrictAttrs):
    axis: int = -1


def _arg_infer(x: AbstractValue, *, axis, output_type, keep_dims) -> AbstractValue:
    if output_type not in (dt.int32, dt.int64):
        raise OpInputError(f"output_type must be int32 or int64, got {output_type.name}")
    if x.dtype is dt.bool_:
        raise OpInputError("input 'x' is bool; cast it to a number type first")
    if axis is None:
        return AbstractValue((1,) * x.ndim if keep_dims else (), output_type)
    if not -max(x.ndim, 1) <= axis < max(x.ndim, 1):
        raise OpInputError(f"axis {axis} is out of range for a tensor of rank {x.ndim}")
    if x.ndim and x.shape[axis % x.ndim] == 0:
        raise OpInputError(f"axis {axis} has length 0: there is no extreme to find")
    axis = axis % x.ndim if x.ndim else 0
    shape = tuple(1 if i == axis else s for i, s in enumerate(x.shape)) if keep_dims else \
        tuple(s for i, s in enumerate(x.shape) if i != axis)
    return AbstractValue(shape, output_type)


def _with_value(arg_op: str, reduce_fn: str):
    def composite(x, *, axis, keep_dims):
        index = getattr(F, arg_op)(x, axis=axis, keep_dims=keep_dims)
        return index, getattr(F, reduce_fn)(x, axis=axis, keep_dims=keep_dims)
    return composite


def _one_hot(indices, depth, on_value, off_value, *, axis):
    from ..core.tensor import Tensor
    depth = int(depth)
    if depth < 0:
        raise OpInputError(f"OneHot: depth must be 0 or more, got {depth}")
    if not isinstance(indices, Tensor) or indices.dtype.category != "int":
        raise OpInputError("OneHot: input 'indices' must be an integer Tensor")
    rank = indices.ndim + 1
    if not -rank <= axis < rank:
        raise OpInputError(f"OneHot: axis {axis} is out of range for an output of rank {rank}")
    axis %= rank
    positions = np.arange(depth, dtype=indices.dtype.numpy).reshape(
        tuple(depth if i == axis else 1 for i in range(rank)))
    hits = F.equal(F.expand_dims(indices, axis=axis), Tensor(positions))
    return F.select(hits, on_value, off_value)


OPS = [
    OpDef(name="Argmax", inputs=("x",), infer=_arg_infer, attributes=ArgAttrs,
          backward=(None,), doc="index of the largest element along axis (None: flattened)",
          checks=checks(sample(x(2, 3)), sample(x(2, 3), axis=None), derivative="zero",
                        reason="an index is piecewise constant in the values: zero derivative")),
    OpDef(name="Argmin", inputs=("x",), infer=_arg_infer, attributes=ArgAttrs,
          backward=(None,), doc="index of the smallest element along axis (None: flattened)",
          checks=checks(sample(x(2, 3)), sample(x(3, 2), axis=0, keep_dims=True),
                        derivative="zero",
                        reason="an index is piecewise constant in the values: zero derivative")),
    OpDef(name="ArgMaxWithValue", inputs=("x",), composite=_with_value("argmax", "reduce_max"),
          attributes=ArgWithValueAttrs,
          doc="(index, value) of the largest element along axis; the value differentiates",
          checks=checks(sample(x(2, 3), axis=1), sample(x(3, 2), axis=0, keep_dims=True))),
    OpDef(name="ArgMinWithValue", inputs=("x",), composite=_with_value("argmin", "reduce_min"),
          attributes=ArgWithValueAttrs,
          doc="(index, value) of the smallest element along axis; the value differentiates",
          checks=checks(sample(x(2, 3), axis=1), sample(x(3, 2), axis=0, keep_dims=True))),
    OpDef(name="OneHot", inputs=("indices", "depth", "on_value", "off_value"),
          composite=_one_hot, attributes=OneHotAttrs,
          doc="on_value where the position along axis equals the index, off_value elsewhere: "
              "OneHot()(indices, depth, on_value, off_value)",
          checks=checks(sample(fixed([0, 2, 1], "int64"), fixed(3, "int64"), x(), x()),
                        sample(fixed([[1, 0]], "int64"), fixed(2, "int64"), x(), x(), axis=0))),
]
