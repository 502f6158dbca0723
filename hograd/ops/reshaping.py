"""Ops that move elements without arithmetic: reshape, transpose, broadcast, index and its adjoint.

Each is linear, so each derivative is another op of this module, and any order follows.
"""
from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import BeforeValidator

from ..core.errors import OpInputError
from ..core.ir import AbstractValue
from ..core.opdef import OpDef, StrictAttrs
from .call import F
from .families import broadcast_shapes


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


class IndexAttrs(StrictAttrs):
    index: tuple


class IndexAdjointAttrs(StrictAttrs):
    index: tuple
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
def normalize_index(index: Any, shape: tuple[int, ...]) -> tuple:
    """Basic numpy indexing (ints, slices, None, ...) as a hashable, shape-resolved tuple."""
    items = index if isinstance(index, tuple) else (index,)
    consumed = sum(1 for i in items if i is not None and i is not Ellipsis)
    if sum(1 for i in items if i is Ellipsis) > 1:
        raise OpInputError("an index may hold at most one Ellipsis (...)")
    if consumed > len(shape):
        raise OpInputError(f"too many indices ({consumed}) for a tensor of rank {len(shape)}")
    normalized, dim = [], 0
    for item in items:
        if item is Ellipsis:
            for _ in range(len(shape) - consumed):
                normalized.append(("s", 0, shape[dim], 1))
                dim += 1
        elif item is None:
            normalized.append(("n",))
        elif isinstance(item, slice):
            normalized.append(("s", *item.indices(shape[dim])))
            dim += 1
        elif isinstance(item, (int, np.integer)) or hasattr(item, "__index__"):
            position = int(item.__index__())
            if not -shape[dim] <= position < shape[dim]:
                raise OpInputError(f"index {position} is out of bounds for axis {dim} of size "
                                   f"{shape[dim]}")
            normalized.append(("i", position % shape[dim]))
            dim += 1
        else:
            raise OpInputError(f"unsupported index {item!r} ({type(item).__name__}): use ints, "
                               f"slices, None and ...; gather with a tensor of indices instead")
    return tuple(normalized)


def numpy_index(index: tuple) -> tuple:
    """The numpy index a normalized index stands for."""
    out = []
    for item in index:
        kind = item[0]
        out.append(item[1] if kind == "i" else None if kind == "n" else slice(*item[1:]))
    return tuple(out)


def _indexed_shape(shape: tuple[int, ...], index: tuple) -> tuple[int, ...]:
    return np.broadcast_to(np.empty((), np.int8), shape)[numpy_index(index)].shape


def _getitem_infer(x: AbstractValue, *, index: tuple) -> AbstractValue:
    try:
        return AbstractValue(_indexed_shape(x.shape, index), x.dtype)
    except IndexError as err:
        raise OpInputError(f"index does not fit shape {x.shape}: {err}") from None


def _getitem_adjoint_infer(g: AbstractValue, *, index: tuple, shape: tuple) -> AbstractValue:
    expected = _indexed_shape(shape, index)
    if g.shape != expected:
        raise OpInputError(f"'g' has shape {g.shape}, the indexed part of {shape} has {expected}")
    return AbstractValue(tuple(shape), g.dtype)


OPS = [
    OpDef(name="Reshape", inputs=("x",), infer=_reshape_infer, attributes=ShapeAttrs,
          call_attributes=("shape",), doc="the same elements in a new shape (one size may be -1)",
          backward=(lambda g, out, x, *, shape: F.reshape(g, x.shape),)),
    OpDef(name="Transpose", inputs=("x",), infer=_transpose_infer, attributes=PermAttrs,
          call_attributes=("perm",), backward=(_transpose_grad,), doc="permute axes"),
    OpDef(name="ExpandDims", inputs=("x",), infer=_expand_dims_infer, attributes=AxisAttrs,
          call_attributes=("axis",), doc="insert an axis of size 1",
          backward=(lambda g, out, x, *, axis: F.reshape(g, x.shape),)),
    # the transformer sums a cotangent back over broadcast axes, so the rule passes g through
    OpDef(name="BroadcastTo", inputs=("x",), infer=_broadcast_to_infer, attributes=ShapeAttrs,
          doc="broadcast to shape (-1 keeps a dimension)",
          backward=(lambda g, out, x, *, shape: g,)),
    OpDef(name="GetItem", inputs=("x",), infer=_getitem_infer, attributes=IndexAttrs,
          doc="basic indexing and slicing: x[index]",
          backward=(lambda g, out, x, *, index: F.get_item_adjoint(g, index=index,
                                                                   shape=x.shape),)),
    OpDef(name="GetItemAdjoint", inputs=("g",), infer=_getitem_adjoint_infer,
          attributes=IndexAdjointAttrs,
          doc="zeros of shape with g placed at index: the adjoint of GetItem",
          backward=(lambda g, out, x, *, index, shape: F.get_item(g, index=index),)),
]
