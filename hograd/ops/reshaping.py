"""Ops that move elements without arithmetic: reshape, transpose, broadcast, index and its adjoint.

Each is linear, so each derivative is another op of this module, and any order follows.
"""
from __future__ import annotations

from typing import Annotated, Any, Optional, Union

import numpy as np
from pydantic import BeforeValidator, field_validator

from ..core.checkspec import checks, fixed, sample, x
from ..core.errors import OpDtypeError, OpInputError
from ..core.indexing import NewAxis, Span, Take, as_index_item, indexed_shape, named_axes, whole
from ..core.ir import AbstractValue
from ..core.opdef import OpDef, StrictAttrs
from .call import F
from .families import broadcast_shapes, linear_jvp
from .rewrites import moved_fill, reshaped_constant, transposed_constant


def _as_int_tuple(value: Any) -> Any:
    if isinstance(value, (list, np.ndarray)):
        return tuple(int(v) for v in value)
    if isinstance(value, tuple):
        return tuple(int(v) if isinstance(v, np.integer) else v for v in value)
    return value


IntTuple = Annotated[tuple[int, ...], BeforeValidator(_as_int_tuple)]


class ShapeAttrs(StrictAttrs):
    shape: IntTuple


class PermAttrs(StrictAttrs):
    perm: IntTuple


class AxisAttrs(StrictAttrs):
    axis: int


def _index_records(index: Any) -> tuple:
    return tuple(as_index_item(item) for item in index)


# an index in normal form (core/indexing.py); the short tuples ("s", a, b, c) are read too
IndexTuple = Annotated[tuple, BeforeValidator(_index_records)]


class IndexAttrs(StrictAttrs):
    index: IndexTuple


class IndexAdjointAttrs(StrictAttrs):
    index: IndexTuple
    shape: IntTuple


# ---- Reshape ------------------------------------------------------------------------------------
def _reshape_infer(x: AbstractValue, *, shape: tuple[int, ...]) -> AbstractValue:
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1 or any(s < -1 for s in shape):
        raise OpInputError(f"shape {shape} may hold at most one -1 and no other negative size")
    known = int(np.prod([s for s in shape if s != -1], dtype=np.int64))
    if unknown:
        if known == 0 or x.size % known:
            raise OpInputError(f"cannot reshape {x.shape} ({x.size} elements) to {shape}")
        shape = tuple(x.size // known if s == -1 else s for s in shape)
    elif known != x.size:
        raise OpInputError(f"cannot reshape {x.shape} ({x.size} elements) to {shape} "
                           f"({known} elements)")
    return AbstractValue(tuple(shape), x.dtype)


# ---- Transpose ----------------------------------------------------------------------------------
def _transpose_infer(x: AbstractValue, *, perm: tuple[int, ...]) -> AbstractValue:
    if sorted(perm) != list(range(x.ndim)):
        raise OpInputError(f"perm {perm} is not a permutation of the {x.ndim} axes of 'x' "
                           f"(shape {x.shape})")
    return AbstractValue(tuple(x.shape[p] for p in perm), x.dtype)


def _transpose_grad(g, out, x, *, perm):
    return F.transpose(g, tuple(int(i) for i in np.argsort(perm)))


# ---- ExpandDims ---------------------------------------------------------------------------------
def _expand_dims_infer(x: AbstractValue, *, axis: int) -> AbstractValue:
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise OpInputError(f"axis {axis} is out of range to insert into rank {x.ndim}")
    position = axis % (x.ndim + 1)
    return AbstractValue(x.shape[:position] + (1,) + x.shape[position:], x.dtype)


# ---- BroadcastTo --------------------------------------------------------------------------------
def _broadcast_to_infer(x: AbstractValue, *, shape: tuple[int, ...]) -> AbstractValue:
    lead = len(shape) - x.ndim
    if lead < 0:
        raise OpInputError(f"cannot broadcast 'x' of shape {x.shape} to fewer dimensions {shape}")
    target = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    if broadcast_shapes(x.shape, target, names=("x", "shape")) != target:
        raise OpInputError(f"cannot broadcast 'x' of shape {x.shape} to {shape}")
    return AbstractValue(target, x.dtype)


# ---- GetItem and its adjoint ----------------------------------------------------------------------
def _check_index_names_every_axis(index: tuple, shape: tuple) -> None:
    named = named_axes(index)
    if named != len(shape):
        raise OpInputError(f"index {index} names {named} axes of a rank-{len(shape)} tensor; "
                           f"build it with normalize_index (x[...] does) to name every axis")


def _getitem_infer(x: AbstractValue, *, index: tuple) -> AbstractValue:
    _check_index_names_every_axis(index, x.shape)
    try:
        return AbstractValue(indexed_shape(x.shape, index), x.dtype)
    except IndexError as err:
        raise OpInputError(f"index does not fit shape {x.shape}: {err}") from None


def _getitem_adjoint_infer(g: AbstractValue, *, index: tuple, shape: tuple) -> AbstractValue:
    _check_index_names_every_axis(index, shape)
    expected = indexed_shape(shape, index)
    if g.shape != expected:
        raise OpInputError(f"'g' has shape {g.shape}, the indexed part of {shape} has {expected}")
    return AbstractValue(tuple(shape), g.dtype)


INDICES = fixed([[0, 3], [3, 1]], "int64")

OPS = [
    OpDef(name="Reshape", inputs=("x",), infer=_reshape_infer, attributes=ShapeAttrs,
          call_attributes=("shape",), doc="the same elements in a new shape (one size may be -1)",
          forward=linear_jvp("Reshape"), roles=("reshape",),
          rewrites=(moved_fill, reshaped_constant),
          backward=(lambda g, out, x, *, shape: F.reshape(g, x.shape),),
          checks=checks(sample(x(2, 3), shape=(3, -1)), sample(x(), shape=(1, 1)))),
    OpDef(name="Transpose", inputs=("x",), infer=_transpose_infer, attributes=PermAttrs,
          call_attributes=("perm",), backward=(_transpose_grad,), doc="permute axes",
          forward=linear_jvp("Transpose"), roles=("transpose",),
          rewrites=(moved_fill, transposed_constant),
          checks=checks(sample(x(2, 3), perm=(1, 0)), sample(x(2, 3, 2), perm=(2, 0, 1)))),
    OpDef(name="ExpandDims", inputs=("x",), infer=_expand_dims_infer, attributes=AxisAttrs,
          call_attributes=("axis",), doc="insert an axis of size 1",
          forward=linear_jvp("ExpandDims"), roles=("expand_dims",),
          rewrites=(moved_fill, reshaped_constant),
          backward=(lambda g, out, x, *, axis: F.reshape(g, x.shape),),
          checks=checks(sample(x(2, 3), axis=1), sample(x(2), axis=-1))),
    # the transformer sums a cotangent back over broadcast axes, so the rule passes g through
    OpDef(name="BroadcastTo", inputs=("x",), infer=_broadcast_to_infer, attributes=ShapeAttrs,
          doc="broadcast to shape (-1 keeps a dimension)", forward=linear_jvp("BroadcastTo"),
          roles=("broadcast_to",), rewrites=(moved_fill,),
          # in a fused group the input is indexed as it broadcasts: no array of the full shape
          elementwise="x",
          backward=(lambda g, out, x, *, shape: g,),
          checks=checks(sample(x(2, 1), shape=(4, 2, 3)), sample(x(), shape=(2,)))),
    OpDef(name="GetItem", inputs=("x",), infer=_getitem_infer, attributes=IndexAttrs,
          roles=("get_item",),
          doc="basic indexing and slicing: x[index]", forward=linear_jvp("GetItem"),
          backward=(lambda g, out, x, *, index: F.get_item_adjoint(g, index=index,
                                                                   shape=x.shape),),
          checks=checks(sample(x(3, 4), index=(Take(1), Span(0, 4, 2))),
                        sample(x(2, 3), index=(NewAxis(), Span(1, 2, 1), Span(0, 3, 1))))),
    OpDef(name="GetItemAdjoint", inputs=("g",), infer=_getitem_adjoint_infer, exposed=False,
          attributes=IndexAdjointAttrs,
          doc="zeros of shape with g placed at index: the adjoint of GetItem",
          forward=linear_jvp("GetItemAdjoint"),
          backward=(lambda g, out, x, *, index, shape: F.get_item(g, index=index),),
          checks=checks(sample(x(2), index=(Span(1, 3, 1),), shape=(4,)))),
]


# ---- ops built from the ones above ------------------------------------------------------------
class OptionalAxesAttrs(StrictAttrs):
    axis: Optional[Union[int, IntTuple]] = None


class TileAttrs(StrictAttrs):
    multiples: IntTuple


class PadAttrs(StrictAttrs):
    paddings: tuple[tuple[int, int], ...]

    @field_validator("paddings", mode="before")
    @classmethod
    def _pairs(cls, value):
        return tuple(tuple(int(v) for v in pair) for pair in value)


class ConcatAttrs(StrictAttrs):
    axis: int = 0


class SplitAttrs(StrictAttrs):
    axis: int = 0
    output_num: int = 1


class GatherAttrs(StrictAttrs):
    axis: int = 0


class GatherAdjointAttrs(StrictAttrs):
    axis: int
    shape: IntTuple


def _squeeze(x, *, axis):
    if axis is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        axes = {a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)}
        for a in sorted(axes):
            if x.shape[a] != 1:
                raise OpInputError(f"Squeeze: axis {a} of 'x' has size {x.shape[a]}, not 1")
        shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
    return F.reshape(x, shape)


def _tile(x, *, multiples):
    if len(multiples) < x.ndim:
        raise OpInputError(f"Tile: multiples {multiples} must give every one of the {x.ndim} "
                           f"axes of 'x' (shape {x.shape})")
    shape = (1,) * (len(multiples) - x.ndim) + x.shape
    # (s₁, s₂) → (1, s₁, 1, s₂) → broadcast (m₁, s₁, m₂, s₂) → (m₁s₁, m₂s₂)
    interleaved = tuple(d for s in shape for d in (1, s))
    spread = tuple(d for m, s in zip(multiples, shape) for d in (m, s))
    tiled = F.broadcast_to(F.reshape(x, interleaved), shape=spread)
    return F.reshape(tiled, tuple(m * s for m, s in zip(multiples, shape)))


def _pad(x, *, paddings):
    if len(paddings) != x.ndim or any(b < 0 or a < 0 for b, a in paddings):
        raise OpInputError(f"Pad: paddings must hold one (before, after) pair of non-negative "
                           f"ints per axis of 'x' (shape {x.shape}), got {paddings}")
    shape = tuple(b + s + a for (b, a), s in zip(paddings, x.shape))
    index = tuple(Span(b, b + s, 1) for (b, _), s in zip(paddings, x.shape))
    return F.get_item_adjoint(x, index=index, shape=shape)


def _concat_infer(*xs: AbstractValue, axis: int) -> AbstractValue:
    if not xs:
        raise OpInputError("needs at least one tensor")
    first = xs[0]
    if not -first.ndim <= axis < first.ndim:
        raise OpInputError(f"axis {axis} is out of range for rank {first.ndim}")
    axis %= first.ndim
    for i, x in enumerate(xs[1:], 1):
        if x.dtype is not first.dtype:
            raise OpDtypeError(f"input {i} has dtype {x.dtype.name}, input 0 has "
                               f"{first.dtype.name}; cast them to one dtype")
        if x.ndim != first.ndim or any(a != b for j, (a, b) in enumerate(zip(x.shape, first.shape))
                                       if j != axis):
            raise OpInputError(f"input {i} of shape {x.shape} does not fit input 0 of shape "
                               f"{first.shape} outside axis {axis}")
    size = sum(x.shape[axis] for x in xs)
    return AbstractValue(first.shape[:axis] + (size,) + first.shape[axis + 1:], first.dtype)


def _concat_grad(g, out, *xs, axis):
    axis %= g.ndim
    grads, offset = [], 0
    for x in xs:
        size = x.shape[axis]
        index = tuple(Span(offset, offset + size, 1) if i == axis else whole(n)
                      for i, n in enumerate(g.shape))
        grads.append(F.get_item(g, index=index))
        offset += size
    return tuple(grads)


def _stack(*xs, axis):
    if len(xs) == 1 and isinstance(xs[0], (tuple, list)):
        xs = tuple(xs[0])
    if not xs:
        raise OpInputError("Stack needs at least one tensor")
    position = axis % (xs[0].ndim + 1)
    return F.concat(*[F.expand_dims(x, position) for x in xs], axis=position)


def _split(x, *, axis, output_num):
    axis %= max(x.ndim, 1)
    if output_num < 1 or x.shape[axis] % output_num:
        raise OpInputError(f"Split: axis {axis} of size {x.shape[axis]} cannot be split into "
                           f"{output_num} equal parts")
    size = x.shape[axis] // output_num
    return tuple(F.get_item(x, index=tuple(Span(k * size, (k + 1) * size, 1) if i == axis
                                           else whole(n) for i, n in enumerate(x.shape)))
                 for k in range(output_num))


def _gather_infer(params: AbstractValue, indices: AbstractValue, *, axis: int) -> AbstractValue:
    if indices.dtype.category != "int":
        raise OpDtypeError(f"input 'indices' must be an integer tensor, got {indices.dtype.name}")
    if not -params.ndim <= axis < params.ndim:
        raise OpInputError(f"axis {axis} is out of range for 'params' of rank {params.ndim}")
    axis %= params.ndim
    return AbstractValue(params.shape[:axis] + indices.shape + params.shape[axis + 1:],
                         params.dtype)


def _gather_adjoint_infer(g: AbstractValue, indices: AbstractValue, *, axis: int, shape):
    expected = _gather_infer(AbstractValue(tuple(shape), g.dtype), indices, axis=axis).shape
    if g.shape != expected:
        raise OpInputError(f"'g' has shape {g.shape}, gathering from {shape} gives {expected}")
    return AbstractValue(tuple(shape), g.dtype)


OPS += [
    OpDef(name="Squeeze", inputs=("x",), attributes=OptionalAxesAttrs, composite=_squeeze,
          doc="drop axes of size 1 (all, or those named)",
          checks=checks(sample(x(2, 1, 3)), sample(x(1, 3, 1), axis=0))),
    OpDef(name="Tile", inputs=("x",), attributes=TileAttrs, composite=_tile,
          call_attributes=("multiples",),
          doc="repeat x multiples[i] times along axis i",
          checks=checks(sample(x(2, 3), multiples=(2, 1, 2)))),
    OpDef(name="Pad", inputs=("x",), attributes=PadAttrs, composite=_pad,
          doc="pad with zeros: paddings holds (before, after) per axis",
          checks=checks(sample(x(2, 3), paddings=((1, 0), (2, 1))))),
    OpDef(name="Concat", inputs=("xs",), variadic=True, infer=_concat_infer, roles=("concat",),
          attributes=ConcatAttrs, backward_all=_concat_grad, forward=linear_jvp("Concat"),
          doc="join tensors along axis: Concat(axis)((x, y))",
          checks=checks(sample(x(2, 3), x(2, 2), tuple_input=True, axis=1),
                        sample(x(1, 2), x(2, 2), x(1, 2), tuple_input=True, axis=0))),
    OpDef(name="Stack", inputs=("xs",), roles=("stack",), variadic=True, attributes=ConcatAttrs,
          composite=_stack,
          doc="stack tensors along a new axis: Stack(axis)((x, y))",
          checks=checks(sample(x(2, 3), x(2, 3), tuple_input=True, axis=0),
                        sample(x(2), x(2), tuple_input=True, axis=-1))),
    OpDef(name="Split", inputs=("x",), attributes=SplitAttrs, composite=_split,
          doc="a tuple of output_num equal parts along axis",
          checks=checks(sample(x(2, 4), axis=1, output_num=2),
                        sample(x(3, 2), axis=0, output_num=3))),
    OpDef(name="Gather", inputs=("params", "indices"), infer=_gather_infer,
          attributes=GatherAttrs, call_attributes=("axis",),
          backward=(lambda g, out, params, indices, *, axis:
                    F.gather_adjoint(g, indices, axis=axis, shape=params.shape), None),
          forward=linear_jvp("Gather"),
          doc="take slices of params along axis at integer indices: Gather()(params, idx, axis)",
          checks=checks(sample(x(2, 4), INDICES, axis=1), sample(x(4), INDICES, axis=0))),
    OpDef(name="GatherAdjoint", inputs=("g", "indices"), infer=_gather_adjoint_infer,
          exposed=False,
          attributes=GatherAdjointAttrs,
          backward=(lambda g, out, x, indices, *, axis, shape: F.gather(g, indices, axis=axis),
                    None),
          forward=linear_jvp("GatherAdjoint"),
          doc="zeros of shape with g added at the gathered positions: the adjoint of Gather",
          checks=checks(sample(x(2, 2, 2), INDICES, axis=1, shape=(2, 4)))),
]
