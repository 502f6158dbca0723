"""The common shapes of ops, so that most ops are declared in one line with their derivative.

``unary``: elementwise, one input, integers promoted to float32.
``binary``: elementwise with broadcasting and dtype promotion.
``comparison``: binary, boolean result, no derivative needed (its output carries none).
A rule is ``rule(cotangent, out, *inputs)``; it may return a broadcast shape or another float
dtype, which the transformer sums and casts back.

Forward-mode (JVP) rules come from helpers too, as JAX's ``deflinear``/``defbilinear`` do:
``self_adjoint_jvp`` (the Jacobian is its own transpose: every elementwise op, whose Jacobian is
diagonal, so the backward rule applied to the tangent *is* the forward rule), ``linear_jvp``
(the op applied to the tangent), ``multilinear_jvp`` (products: one term per tangent) and
``weighted_reduction_jvp`` (a reduction whose backward rule spreads g times a weight).
A forward rule is ``forward(tangents, out, *inputs, **attrs)`` with ``None`` for a zero tangent.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from .. import dtype as dt
from ..core.batching import broadcasting, vectorized
from ..core.checkspec import OpSpec
from ..core.dispatch import apply
from ..core.errors import OpDtypeError, OpInputError
from ..core.indexing import normalize_axes  # noqa: F401  (re-exported for op modules)
from ..core.ir import AbstractValue
from ..core import checkspec
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


# the checks a family's op gets unless it states its own: a matrix and a scalar (unary), and
# broadcasting in both directions plus a scalar (binary)
UNARY_CHECKS = checkspec.checks(checkspec.sample(checkspec.x(2, 3)),
                                checkspec.sample(checkspec.x()))
BINARY_CHECKS = checkspec.checks(checkspec.sample(checkspec.x(2, 3), checkspec.x(3)),
                                 checkspec.sample(checkspec.x(), checkspec.x(2)),
                                 checkspec.sample(checkspec.x(2, 1), checkspec.x(1, 3)))


def unary(name: str, rule: Optional[Callable | NotDifferentiable], *, doc: str,
          domain: tuple[float, float] = (-2.0, 2.0), promotion: str = "float",
          functional: Optional[str] = None, checks: Optional[OpSpec] = None,
          roles: tuple[str, ...] = (), rewrites: tuple = (),
          elementwise: Optional[str] = None) -> OpDef:
    """An elementwise op of one input: ``out = f(x)``, ``rule(g, out, x) -> dx``;
    ``elementwise``: f(x) in the fusion language (core/fusion.py)."""
    if checks is None:
        checks = UNARY_CHECKS if not isinstance(rule, NotDifferentiable) else \
            UNARY_CHECKS.model_copy(update={"derivative": "none"})
    return OpDef(name=name, inputs=("x",),
                 infer=same_as_input if promotion == "float" else numeric_input,
                 backward=(rule,), forward=self_adjoint_jvp((rule,)), batch=vectorized(name),
                 promotion=promotion, domain=domain, doc=doc, functional=functional,
                 checks=checks, roles=roles, rewrites=rewrites, elementwise=elementwise)


def binary(name: str, rule_x: Optional[Callable], rule_y: Optional[Callable], *, doc: str,
           domain: tuple[float, float] = (-2.0, 2.0), promotion: str = "common",
           aliases: tuple[str, ...] = (), functional: Optional[str] = None,
           checks: Optional[OpSpec] = None, roles: tuple[str, ...] = (),
           rewrites: tuple = (), commutative: bool = False,
           elementwise: Optional[str] = None) -> OpDef:
    """An elementwise op of two broadcasting inputs: ``rule_x(g, out, x, y) -> dx``, same for
    y; ``elementwise``: f(x, y) in the fusion language (core/fusion.py)."""

    def infer(x: AbstractValue, y: AbstractValue) -> AbstractValue:
        dtype = same_dtype(("x", "y"), x, y)
        return AbstractValue(broadcast_shapes(x.shape, y.shape, names=("x", "y")), dtype)

    return OpDef(name=name, inputs=("x", "y"), infer=infer, backward=(rule_x, rule_y),
                 forward=self_adjoint_jvp((rule_x, rule_y)), promotion=promotion, domain=domain,
                 doc=doc, aliases=aliases, functional=functional, batch=broadcasting(name),
                 checks=checks or BINARY_CHECKS, roles=roles, rewrites=rewrites,
                 commutative=commutative, elementwise=elementwise)


def comparison(name: str, *, doc: str, elementwise: Optional[str] = None) -> OpDef:
    """An elementwise comparison: a bool result, which carries no derivative."""

    def infer(x: AbstractValue, y: AbstractValue) -> AbstractValue:
        same_dtype(("x", "y"), x, y)
        return AbstractValue(broadcast_shapes(x.shape, y.shape, names=("x", "y")), dt.bool_)

    return OpDef(name=name, inputs=("x", "y"), infer=infer, backward=(None, None),
                 promotion="common", doc=doc, checks=BINARY_CHECKS, batch=broadcasting(name),
                 commutative=name in ("Equal", "NotEqual"), elementwise=elementwise)


# ---- forward-mode rules ------------------------------------------------------------------------
def self_adjoint_jvp(rules: tuple) -> Callable:
    """The JVP of an op whose Jacobian w.r.t. each input is symmetric, from its backward rules.

    An elementwise op's Jacobian is diagonal, hence symmetric, so ``rule(tangent, out, *inputs)``
    is ``J·tangent`` as well as ``Jᵀ·cotangent``: no op of the family needs a forward rule of its
    own. A tangent is given the output's dtype; the inputs' terms are summed. Softmax,
    whose Jacobian ``diag(s) − s sᵀ`` is symmetric too, uses it as well.
    """

    def forward(tangents, out, *inputs, **attrs):
        total = None
        for rule, tangent in zip(rules, tangents):
            if tangent is None or rule is None or isinstance(rule, NotDifferentiable):
                continue  # the transformer raises for a NotDifferentiable input it needs
            # a broadcasting input's tangent stays small: the rule broadcasts it against the
            # other inputs as the op did, and the transformer broadcasts what is still smaller
            if tangent.dtype is not out.dtype:
                tangent = apply("Cast", (tangent,), {"dtype": out.dtype})
            term = rule(tangent, out, *inputs, **attrs)
            if term is not None:
                total = term if total is None else apply("Add", (total, term))
        return total

    return forward


def linear_jvp(op: str) -> Callable:
    """The JVP of an op linear in its float inputs (Reshape, ReduceSum, Concat, Gather's params):
    the op itself applied to the tangents, zeros standing for missing ones; inputs that carry
    no tangent by nature (integer indices, a boolean condition) are passed as they are."""

    def forward(tangents, out, *inputs, **attrs):
        arguments = [tangent if tangent is not None else
                     apply("ZerosLike", (x,)) if x.dtype.is_float else x
                     for tangent, x in zip(tangents, inputs)]
        return apply(op, arguments, attrs, validated=True)

    return forward


def multilinear_jvp(op: str) -> Callable:
    """The JVP of a product linear in each input separately (MatMul, BatchMatMul, Einsum): the
    sum over inputs with a tangent of the op with that input replaced by its tangent."""

    def forward(tangents, out, *inputs, **attrs):
        total = None
        for position, tangent in enumerate(tangents):
            if tangent is None:
                continue
            arguments = list(inputs)
            arguments[position] = tangent
            term = apply(op, arguments, attrs, validated=True)
            total = term if total is None else apply("Add", (total, term))
        return total

    return forward


def weighted_reduction_jvp(rule: Callable) -> Callable:
    """The JVP of a reduction whose backward rule is ``spread(g) · w(x, out)`` (LogSumExp, Max,
    Min, Prod): the reduced sum of ``tangent · w``, with ``w`` read off the rule at g = 1."""

    def forward(tangents, out, x, *, axis, keep_dims):
        ones = apply("OnesLike", (out,))
        weight = rule(ones, out, x, axis=axis, keep_dims=keep_dims)
        return apply("ReduceSum", (apply("Mul", (tangents[0], weight)),),
                     {"axis": axis, "keep_dims": keep_dims})

    return forward


def first_input_jvp(tangents, out, *inputs, **attrs):
    """The JVP of an op that returns its first input unchanged (Print's node)."""
    return tangents[0] if tangents else None
