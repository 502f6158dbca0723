"""The common shapes of ops, so that most ops are declared in one line with their derivative.

``unary``: elementwise, one input, integers promoted to float32.
``binary``: elementwise with broadcasting and dtype promotion.
``comparison``: binary, boolean result, no derivative needed (its output carries none).
A rule is ``rule(cotangent, out, *inputs)``; it may return a broadcast shape or another float
dtype, which the transformer sums and casts back.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from .. import dtype as dt
from ..core.errors import OpDtypeError, OpInputError
from ..core.indexing import normalize_axes  # noqa: F401  (re-exported for op modules)
from ..core.ir import AbstractValue
from ..core.opdef import NotDifferentiable, OpDef


def same_as_input(x: AbstractValue, **_: Any) -> AbstractValue:
    return x


def numeric_input(x: AbstractValue, **_: Any) -> AbstractValue:
    """An arithmetic op that keeps its input's dtype: numbers only, not bools."""
    if x.dtype is dt.bool_:
        raise OpDtypeError("input 'x' is bool, which has no arithmetic here; cast it first: "
                           "ops.Cast()(x, mstype.int32) or mstype.float32")
    return x


def broadcast_shapes(*shapes: tuple[int, ...], names: tuple[str, ...] = ()) -> tuple[int, ...]:
    if all(shape == shapes[0] for shape in shapes):
        return shapes[0]
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        labelled = ", ".join(f"'{n}' {s}" for n, s in zip(names, shapes)) if names else shapes
        raise OpInputError(f"input shapes {labelled} cannot be broadcast together "
                           f"(trailing dimensions must be equal or 1)") from None


def same_dtype(names: tuple[str, ...], *avals: AbstractValue) -> dt.DType:
    first = avals[0].dtype
    for name, aval in zip(names[1:], avals[1:]):
        if aval.dtype is not first:
            raise OpDtypeError(f"input '{name}' has dtype {aval.dtype.name} but '{names[0]}' has "
                               f"{first.name}; cast one with ops.Cast()(x, dtype)")
    return first


def unary(name: str, rule: Optional[Callable | NotDifferentiable], *, doc: str,
          domain: tuple[float, float] = (-2.0, 2.0), promotion: str = "float",
          functional: Optional[str] = None) -> OpDef:
    """An elementwise op of one input: ``out = f(x)``, ``rule(g, out, x) -> dx``."""
    return OpDef(name=name, inputs=("x",),
                 infer=same_as_input if promotion == "float" else numeric_input,
                 backward=(rule,),
                 promotion=promotion, domain=domain, doc=doc, functional=functional)


def binary(name: str, rule_x: Optional[Callable], rule_y: Optional[Callable], *, doc: str,
           domain: tuple[float, float] = (-2.0, 2.0), promotion: str = "common",
           aliases: tuple[str, ...] = (), functional: Optional[str] = None) -> OpDef:
    """An elementwise op of two broadcasting inputs: ``rule_x(g, out, x, y) -> dx``, same for y."""

    def infer(x: AbstractValue, y: AbstractValue) -> AbstractValue:
        dtype = same_dtype(("x", "y"), x, y)
        return AbstractValue(broadcast_shapes(x.shape, y.shape, names=("x", "y")), dtype)

    return OpDef(name=name, inputs=("x", "y"), infer=infer, backward=(rule_x, rule_y),
                 promotion=promotion, domain=domain, doc=doc, aliases=aliases,
                 functional=functional)


def comparison(name: str, *, doc: str) -> OpDef:
    """An elementwise comparison: a bool result, which carries no derivative."""

    def infer(x: AbstractValue, y: AbstractValue) -> AbstractValue:
        same_dtype(("x", "y"), x, y)
        return AbstractValue(broadcast_shapes(x.shape, y.shape, names=("x", "y")), dt.bool_)

    return OpDef(name=name, inputs=("x", "y"), infer=infer, backward=(None, None),
                 promotion="common", doc=doc)
