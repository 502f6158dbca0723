"""Reductions over axes. ``axis`` is None or ``()`` for all axes, an int, or a tuple of ints."""
from __future__ import annotations

from typing import Optional, Union

from pydantic import StrictBool, field_validator

from .. import dtype as dt
from ..core.checkspec import checks, sample, x
from ..core.indexing import Span, normalize_axes, whole
from ..core.ir import AbstractValue
from ..core.opdef import OpDef, StrictAttrs
from .call import F
from .families import linear_jvp, weighted_reduction_jvp
from .rewrites import moved_fill, summed_fill


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


def _counting_infer(x: AbstractValue, *, axis, keep_dims: bool) -> AbstractValue:
    """A sum or product: over bools it counts, in int64, as numpy, PyTorch and MindSpore do."""
    out = _reduce_infer(x, axis=axis, keep_dims=keep_dims)
    return AbstractValue(out.shape, dt.int64) if x.dtype is dt.bool_ else out


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


# the checks every reduction gets: all axes, one axis kept, two axes, and a scalar
REDUCTION_CHECKS = checks(sample(x(2, 3)), sample(x(2, 3), axis=1, keep_dims=True),
                          sample(x(3, 2, 2), axis=(0, 2)), sample(x()))


def reduction(name: str, rule, *, doc: str, infer=_reduce_infer, forward=None,
              **extra) -> OpDef:
    """A reduction over ``axis`` (None for all, an int, a tuple), ``keep_dims`` optional,
    called as ``Op(keep_dims)(x, axis)``: ``rule(g, out, x, *, axis, keep_dims) -> dx``."""
    return OpDef(name=name, inputs=("x",), infer=infer, attributes=ReduceAttrs,
                 call_attributes=("axis",), backward=(rule,), doc=doc,
                 forward=forward or weighted_reduction_jvp(rule), checks=REDUCTION_CHECKS,
                 **extra)


OPS = [
    reduction("ReduceSum", lambda g, out, x, *, axis, keep_dims: _spread(g, x, axis, keep_dims),
              infer=_counting_infer, forward=linear_jvp("ReduceSum"), roles=("reduce_sum",),
              rewrites=(summed_fill,), fused_reduction="sum",
              doc="sum over axis (over bools: the count, in int64)"),
    reduction("ReduceMean", _mean_grad, promotion="float", forward=linear_jvp("ReduceMean"),
              rewrites=(moved_fill,),
              doc="mean over axis (integers become float32)"),
]


class CumSumAttrs(StrictAttrs):
    axis: int
    exclusive: StrictBool = False
    reverse: StrictBool = False


class NormAttrs(StrictAttrs):
    axis: Optional[Union[int, tuple[int, ...]]] = None
    keep_dims: StrictBool = False
    p: int = 2

    _lists_are_tuples = field_validator("axis", mode="before")(
        ReduceAttrs._lists_are_tuples.__func__)


def _float_reduce_infer(x: AbstractValue, *, axis, keep_dims: bool) -> AbstractValue:
    from ..core.errors import OpInputError
    if not x.dtype.is_float:
        raise OpInputError(f"input 'x' must be a float tensor, got {x.dtype.name}")
    return _reduce_infer(x, axis=axis, keep_dims=keep_dims)


def _kept(value, x, axis, keep_dims):
    """A reduced value reshaped so that it broadcasts against x."""
    if keep_dims:
        return value
    axes = normalize_axes(axis, x.ndim)
    return F.reshape(value, tuple(1 if i in axes else s for i, s in enumerate(x.shape)))


def _logsumexp_grad(g, out, x, *, axis, keep_dims):
    return _kept(g, x, axis, keep_dims) * F.exp(x - _kept(out, x, axis, keep_dims))


def _extremum_grad(g, out, x, *, axis, keep_dims):
    # the gradient goes to the extremal elements, split evenly between ties (as in JAX)
    hits = F.cast(F.equal(x, _kept(out, x, axis, keep_dims)), dtype=x.dtype)
    share = hits / F.reduce_sum(hits, axis=axis, keep_dims=True)
    return _kept(g, x, axis, keep_dims) * share


def _reduce_prod(x, *, axis, keep_dims):
    """The product as a tree of pairwise Mul ops over the reduced elements.

    Its derivatives are then Mul's, to any order and exact where elements are 0 (the rule
    Πx / xᵢ is NaN there, and so is every higher derivative through it), for log₂(n) levels of
    elementwise work."""
    axes = normalize_axes(axis, x.ndim)
    if x.dtype is dt.bool_:
        x = F.cast(x, dtype=dt.int64)  # a product of bools counts as integers, as sums do
    kept = [i for i in range(x.ndim) if i not in axes]
    out_shape = tuple(1 if i in axes else s for i, s in enumerate(x.shape)) if keep_dims \
        else tuple(x.shape[i] for i in kept)
    count = 1
    for a in axes:
        count *= x.shape[a]
    if count == 0:
        return F.fill(x.dtype, out_shape, 1 if x.dtype.is_integer else 1.0)
    if tuple(kept + list(axes)) != tuple(range(x.ndim)):
        x = F.transpose(x, tuple(kept + list(axes)))
    rows = tuple(x.shape[:len(kept)])
    x = F.reshape(x, rows + (count,))
    while count > 1:
        if count % 2:  # an odd count: one factor of 1 makes the pairs even
            one = F.fill(x.dtype, rows + (1,), 1 if x.dtype.is_integer else 1.0)
            x = F.concat(x, one, axis=len(rows))
            count += 1
        whole_rows = tuple(whole(n) for n in rows)
        evens = F.get_item(x, index=whole_rows + (Span(0, count, 2),))
        odds = F.get_item(x, index=whole_rows + (Span(1, count, 2),))
        x = evens * odds
        count //= 2
    return F.reshape(x, out_shape)


def _cumsum_infer(x: AbstractValue, *, axis: int, exclusive: bool, reverse: bool):
    normalize_axes(axis, x.ndim)
    return AbstractValue(x.shape, dt.int64) if x.dtype is dt.bool_ else x


def _norm(x, *, axis, keep_dims, p):
    from ..core.errors import OpInputError
    if p == 1:
        return F.reduce_sum(F.abs(x), axis=axis, keep_dims=keep_dims)
    if p == 2:
        return F.sqrt(F.reduce_sum(x * x, axis=axis, keep_dims=keep_dims))
    raise OpInputError(f"Norm: p must be 1 or 2, got {p}")


OPS += [
    reduction("LogSumExp", _logsumexp_grad, infer=_float_reduce_infer, functional="logsumexp",
              doc="log(sum(exp(x))) over axis, computed without overflow"),
    reduction("ReduceMax", _extremum_grad, doc="max over axis"),
    reduction("ReduceMin", _extremum_grad, doc="min over axis"),
    OpDef(name="ReduceProd", inputs=("x",), attributes=ReduceAttrs, composite=_reduce_prod,
          call_attributes=("axis",), domain=(0.5, 1.5),
          doc="product over axis (a tree of pairwise products: exact derivatives at zeros)",
          checks=REDUCTION_CHECKS),
    OpDef(name="CumSum", inputs=("x",), infer=_cumsum_infer, attributes=CumSumAttrs,
          call_attributes=("axis",), functional="cumsum", forward=linear_jvp("CumSum"),
          # the adjoint of a running sum is the running sum in the other direction
          backward=(lambda g, out, x, *, axis, exclusive, reverse:
                    F.cumsum(g, axis=axis, exclusive=exclusive, reverse=not reverse),),
          doc="running sum along axis (exclusive: without the element; reverse: from the end)",
          checks=checks(sample(x(2, 3), axis=1),
                        sample(x(3, 2), axis=0, exclusive=True, reverse=True))),
    OpDef(name="Norm", inputs=("x",), attributes=NormAttrs, composite=_norm,
          doc="p-norm (p = 1 or 2) over axis: sqrt(sum(x²)) or sum(|x|)",
          checks=checks(sample(x(2, 3), axis=1),
                        sample(x(2, 3, low=0.3, both_signs=True), p=1))),
]
