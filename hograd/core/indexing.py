"""Normal forms of indices and axes: what ``x[...]`` and an ``axis=`` attribute mean, resolved
against a shape into small hashable records that ops store as attributes and kernels read.

An index is a tuple naming every axis of the tensor in order, with new axes between:
``Take(i)`` (one position; the axis goes), ``Span(start, stop, step)`` (a slice, resolved:
``stop`` None runs through the front), ``NewAxis()`` (an axis of length 1). ``x[0]`` and
``x[0, :]`` have one normal form, so CSE merges them.

>>> normalize_index((0, slice(None, None, -1)), (2, 3))
(Take(position=0), Span(start=2, stop=None, step=-1))
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Union

import numpy as np

from .errors import OpInputError


@dataclass(frozen=True, slots=True)
class Take:
    """One position of an axis; the axis is dropped (``x[i]``)."""

    position: int


@dataclass(frozen=True, slots=True)
class Span:
    """A resolved slice of an axis (``x[start:stop:step]``); ``stop`` None runs past the front."""

    start: int
    stop: Optional[int]
    step: int


@dataclass(frozen=True, slots=True)
class NewAxis:
    """A new axis of length 1 (``x[None]``)."""


IndexItem = Union[Take, Span, NewAxis]


def as_index_item(item: Any) -> IndexItem:
    """A record from a record, or from the short tuples ``("i", p)``, ``("s", a, b, c)``,
    ``("n",)`` that rules and specs may write by hand."""
    if isinstance(item, (Take, Span, NewAxis)):
        return item
    if isinstance(item, tuple) and item:
        kind, rest = item[0], item[1:]
        if kind == "i" and len(rest) == 1:
            return Take(int(rest[0]))
        if kind == "s" and len(rest) == 3:
            return Span(int(rest[0]), None if rest[1] is None else int(rest[1]), int(rest[2]))
        if kind == "n" and not rest:
            return NewAxis()
    raise OpInputError(f"{item!r} is not an index item: use Take(i), Span(start, stop, step) or "
                       f"NewAxis() (or build the index with normalize_index)")


def whole(size: int) -> Span:
    """Every element of an axis of ``size``."""
    return Span(0, size, 1)


def normalize_index(index: Any, shape: tuple[int, ...]) -> tuple[IndexItem, ...]:
    """Basic numpy indexing (ints, slices, None, ...) as records naming every axis of ``shape``.

    Arrays of indices and boolean masks are refused with a pointer to Gather and Select."""
    items = index if isinstance(index, tuple) else (index,)
    for item in items:
        _refuse_advanced_index(item)
    consumed = sum(1 for i in items if i is not None and i is not Ellipsis)
    if sum(1 for i in items if i is Ellipsis) > 1:
        raise OpInputError("an index may hold at most one Ellipsis (...)")
    if consumed > len(shape):
        raise OpInputError(f"too many indices ({consumed}) for a tensor of rank {len(shape)}")
    normalized: list[IndexItem] = []
    dim = 0
    for item in items:
        if item is Ellipsis:
            for _ in range(len(shape) - consumed):
                normalized.append(whole(shape[dim]))
                dim += 1
        elif item is None:
            normalized.append(NewAxis())
        elif isinstance(item, slice):
            start, stop, step = item.indices(shape[dim])
            # a backward slice that runs past the front has stop -1, which an index would read
            # as "the last element": None says "through the front"
            normalized.append(Span(start, None if stop < 0 else stop, step))
            dim += 1
        elif isinstance(item, (int, np.integer)) or hasattr(item, "__index__"):
            position = int(item.__index__())
            if not -shape[dim] <= position < shape[dim]:
                raise OpInputError(f"index {position} is out of bounds for axis {dim} of size "
                                   f"{shape[dim]}")
            normalized.append(Take(position % shape[dim]))
            dim += 1
        else:
            raise OpInputError(f"unsupported index {item!r} ({type(item).__name__}): use ints, "
                               f"slices, None and ...; gather with a tensor of indices instead")
    # name every remaining axis: the array API does not promise numpy's implicit trailing ':'
    normalized.extend(whole(shape[d]) for d in range(dim, len(shape)))
    return tuple(normalized)


def _refuse_advanced_index(item: Any) -> None:
    from .tensor import Tensor
    if isinstance(item, Tensor) and item.size == 1 and item.dtype.category == "int":
        return  # a scalar integer tensor is an int
    if isinstance(item, (Tensor, np.ndarray, list)):
        kind = (item.dtype.category if isinstance(item, Tensor) else
                "bool" if np.asarray(item).dtype == np.bool_ else "int")
        what = "a boolean mask" if kind == "bool" else "an array of indices"
        hint = ("choose elements with ops.Select()(mask, x, y), or count with "
                "ops.ReduceSum()(mask)" if kind == "bool" else
                "gather them with ops.Gather()(x, indices, axis), which is differentiable")
        raise OpInputError(f"indexing with {what} (advanced indexing) is not supported: {hint}; "
                           f"plain indices are ints, slices, None, ... and True/False")


def bool_index_as_steps(index: Any, shape: tuple[int, ...]) -> tuple[Any, tuple[int, ...]]:
    """Booleans in an index, as numpy reads them: ``True`` adds an axis of length 1, ``False``
    one of length 0. Returns the index with the boolean as a new axis (None), and the output
    axes that must then be emptied (the ``False``'s)."""
    items = index if isinstance(index, tuple) else (index,)
    is_flag = [isinstance(i, (bool, np.bool_)) for i in items]
    if not any(is_flag):
        return index, ()
    plain = tuple(None if flag else i for i, flag in zip(items, is_flag))
    consumed = sum(1 for i in plain if i is not None and i is not Ellipsis)
    position = is_flag.index(True)
    axis = sum(1 if i is None or isinstance(i, slice) else
               max(len(shape) - consumed, 0) if i is Ellipsis else 0 for i in plain[:position])
    empty = () if items[position] else (axis,)
    # numpy moves a boolean that stands apart from integer indices to the front, and joins
    # several booleans into one axis: only the plain cases are taken, the rest refused
    try:
        expected = _shape_of(shape, index)
        got = list(_shape_of(shape, plain))
    except IndexError as err:
        raise OpInputError(f"index {index!r} does not fit shape {shape}: {err}") from None
    for emptied in empty:
        got[emptied] = 0
    if sum(is_flag) > 1 or tuple(got) != expected:
        raise OpInputError(f"index {index!r} mixes True/False with other indices in a way numpy "
                           f"reorders; index in two steps (x[True] or x[False], then the rest)")
    return plain, empty


def numpy_index(index: tuple[IndexItem, ...]) -> tuple:
    """The numpy (and array API) index a normal form stands for."""
    out: list[Any] = []
    for item in index:
        if isinstance(item, Take):
            out.append(item.position)
        elif isinstance(item, Span):
            out.append(slice(item.start, item.stop, item.step))
        else:
            out.append(None)
    return tuple(out)


def without_newaxes(index: tuple[IndexItem, ...]) -> tuple[IndexItem, ...]:
    """The index with its new axes left out (kernels add them back as a reshape)."""
    return tuple(item for item in index if not isinstance(item, NewAxis))


def indexed_shape(shape: tuple[int, ...], index: tuple[IndexItem, ...]) -> tuple[int, ...]:
    """The shape ``x[index]`` has for ``x`` of ``shape`` (no array is made)."""
    return _shape_of(shape, numpy_index(index))


def named_axes(index: tuple[IndexItem, ...]) -> int:
    """How many axes of the indexed tensor the index names."""
    return sum(1 for item in index if not isinstance(item, NewAxis))


def _shape_of(shape: tuple[int, ...], numpy_style_index: Any) -> tuple[int, ...]:
    return np.broadcast_to(np.empty((), np.int8), shape)[numpy_style_index].shape


def normalize_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """An axis attribute (None or ``()`` for all axes, an int, or a tuple) as sorted positive
    ints; out-of-range and repeated axes are errors."""
    if axis is None or axis == ():
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    normalized = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise OpInputError(f"axis {a} is out of range for a tensor of rank {ndim}")
        normalized.append(a % ndim if ndim else 0)
    if len(set(normalized)) != len(normalized):
        raise OpInputError(f"axis {axis} repeats an axis")
    return tuple(sorted(normalized))
