"""Taylor rules of the built-in ops: each op's series from its inputs' series (Taylor mode).

A rule is ``rule(out, *input_series, **attrs) -> Series``; ``out`` is the op's primal output,
already computed by its kernel. Rules come in families, as in JAX's jet, not one hand-written
series per op:

- elementwise ops with an ODE get one line, ``f'(x)`` as series arithmetic on ``x`` and the
  output ``y`` (``Tanh``: ``1 - y * y``), fed to the one generic recurrence ``series.ode``;
- linear ops (reshapes, reductions, casts, adjoints) apply themselves to every coefficient;
- bilinear ops (Mul, MatMul) use Leibniz's rule, quotients their own recurrence;
- piecewise ops (ReLU, Abs, Maximum, Select) pass the coefficients of the chosen piece.

Every rule is written with series arithmetic and hograd ops only, so a jet differentiates again.
``TAYLOR_RULES`` maps op names to rules; ``with_taylor_rules`` puts them into the op records.
"""
from __future__ import annotations

from typing import Callable

from ..core import coefficients as co
from ..core.dispatch import apply
from ..core.opdef import OpDef
from ..core.series import Series, ode, product, quotient
from .call import F

_TWO_OVER_SQRT_PI = 1.1283791670955126
_INV_SQRT_2 = 0.7071067811865476

# f'(x) for elementwise ops, as series arithmetic on their input x and output y
ODES: dict[str, Callable[[Series, Series], Series]] = {
    "Exp": lambda x, y: y,
    "Expm1": lambda x, y: y + 1.0,
    "Log": lambda x, y: 1.0 / x,
    "Log1p": lambda x, y: 1.0 / (x + 1.0),
    "Sqrt": lambda x, y: 0.5 / y,
    "Rsqrt": lambda x, y: -0.5 * y / x,
    "Reciprocal": lambda x, y: -(y * y),
    "Tan": lambda x, y: y * y + 1.0,
    "Tanh": lambda x, y: 1.0 - y * y,
    "Sigmoid": lambda x, y: y - y * y,
    "Atan": lambda x, y: 1.0 / (x * x + 1.0),
    "Atanh": lambda x, y: 1.0 / (1.0 - x * x),
    "Asin": lambda x, y: of("Rsqrt", 1.0 - x * x),
    "Acos": lambda x, y: -of("Rsqrt", 1.0 - x * x),
    "Asinh": lambda x, y: of("Rsqrt", x * x + 1.0),
    "Acosh": lambda x, y: of("Rsqrt", x * x - 1.0),
    "Erf": lambda x, y: of("Exp", -(x * x)) * _TWO_OVER_SQRT_PI,
    "Erfc": lambda x, y: of("Exp", -(x * x)) * -_TWO_OVER_SQRT_PI,
    "Softplus": lambda x, y: of("Sigmoid", x),
    "LogSigmoid": lambda x, y: of("Sigmoid", -x),
}


def of(name: str, x: Series) -> Series:
    """The series of the elementwise op ``name`` applied to the series ``x``."""
    return ode(x, apply(name, (x.primal,)), ODES[name])


def by_ode(name: str):
    """The rule of an elementwise op from its entry in ``ODES``."""
    return lambda out, x: ode(x, out, ODES[name])


def pair(partner: str, sign: float, partner_sign: float, first: bool):
    """sin/cos and sinh/cosh: two series defined by each other's ODE (sin' = cos, cos' = −sin).

    ``first``: the op is the first of the pair (Sin, Sinh); ``sign``/``partner_sign`` are the
    factors in ``first' = sign·second`` and ``second' = partner_sign·first``."""
    def rule(out, x):
        other = apply(partner, (x.primal,))
        primals = (out, other) if first else (other, out)

        def along(path: Series) -> tuple[Series, Series]:
            # the pair along ``path``; the ODE may ask for it along another path (collapsed
            # mode runs it along x₀ + t), so each path gets its own pair
            def slope(sign_, index):
                return lambda z, y: (pair_series[index] if z is path else along(z)[index]) * sign_
            pair_series = (ode(path, primals[0], slope(sign, 1)),
                           ode(path, primals[1], slope(partner_sign, 0)))
            return pair_series
        return along(x)[0 if first else 1]
    return rule


def fitted(series: Series, out, loose_axes="all") -> Series:
    """``series`` with ``out`` as primal and coefficients of ``out``'s dtype and shape, but for
    ``loose_axes`` (all, for an elementwise op: a coefficient may stay broadcast along them)."""
    return Series(lambda k: out if k == 0 else co.fit(series[k], out.aval, loose_axes),
                  constant=series.constant)


def linear(name: str, elementwise: bool = False):
    """A linear op of one moving input: it applies to every coefficient as to the primal."""
    def rule(out, x, *rest, **attrs):
        fixed = [s.primal for s in rest]
        return x.map(lambda c: apply(name, (c, *fixed), attrs), primal=out,
                     elementwise=elementwise)
    return rule


def bilinear(name: str):
    """Leibniz's rule for a matrix product (MatMul, BatchMatMul). A factor's coefficient must
    be whole along the contracted axis only: one row of the left factor's coefficient, the same
    for every row, gives one row of the product's."""
    def rule(out, a, b, *, transpose_a, transpose_b):
        contracted_a, contracted_b = (-2 if transpose_a else -1), (-1 if transpose_b else -2)
        a = fitted(a, a.primal, loose_axes=_all_but(contracted_a, a.primal.ndim))
        b = fitted(b, b.primal, loose_axes=_all_but(contracted_b, b.primal.ndim))
        attrs = {"transpose_a": transpose_a, "transpose_b": transpose_b}
        return fitted(product(a, b, lambda p, q: apply(name, (p, q), attrs)), out)
    return rule


def _all_but(axis: int, ndim: int) -> tuple:
    return tuple(other for other in range(-ndim, 0) if other != axis)


def _square(x: Series) -> Series:
    return product(x, x)


def _select(condition, x: Series, y: Series, out) -> Series:
    """Coefficients of ``x`` where ``condition`` (a primal tensor) holds, else of ``y``."""
    def rule(k):
        if k == 0:
            return out
        chosen = co.dense([co.fit(x[k], out.aval), co.fit(y[k], out.aval)])
        return co.linear(lambda p, q: F.select(condition, p, q), *chosen) if chosen else None
    return Series(rule, constant=x.constant and y.constant)


def _extreme(x: Series, y: Series, out, x_wins, y_wins) -> Series:
    """Maximum/Minimum: the coefficients of the input that wins, their mean at a tie, and none
    where a NaN wins — as the backward and forward rules weigh them (docs/api.md)."""
    tie = F.equal(x.primal, y.primal)

    def weight(wins):
        return F.select(wins, F.ones_like(out), F.select(tie, F.ones_like(out) * 0.5,
                                                         F.zeros_like(out)))

    def rule(k):
        if k == 0:
            return out
        terms = [co.fit(c, out.aval) for c in (x[k], y[k])]
        weighted = [co.linear(lambda c, w=w: c * w, term) for term, w in
                    zip(terms, (weight(x_wins), weight(y_wins))) if term is not None]
        if not weighted:
            return None
        return weighted[0] if len(weighted) == 1 else co.add(*weighted)
    return Series(rule, constant=x.constant and y.constant)


def _masked(out, x: Series, mask) -> Series:
    """A piecewise-linear op: x's coefficients times a fixed mask (ReLU, Abs)."""
    return x.map(lambda c: c * mask, primal=out, elementwise=True)


def _pow(out, x: Series, y: Series) -> Series:
    if y.constant:  # x^p: y' = p·y/x (x > 0, as Pow's checks; at x = 0 use x * x)
        return fitted(ode(x, out, lambda base, z: z * y.primal / base), out)
    return fitted(of("Exp", y * of("Log", x)), out)


def _reduce_extremum(reduce: str):
    """ReduceMax/ReduceMin: the coefficients of the elements equal to the extremum, averaged
    over ties (as the backward rule splits the gradient)."""
    return lambda out, x, **attrs: _extremum_series(reduce, out, x, **attrs)


def _extremum_series(reduce: str, out, x: Series, *, axis, keep_dims):
    kept = out if keep_dims else apply(reduce, (x.primal,), {"axis": axis, "keep_dims": True})
    mask = F.cast(F.equal(x.primal, kept), dtype=x.primal.dtype)
    count = F.reduce_sum(mask, axis=axis, keep_dims=keep_dims)
    return x.map(lambda c: F.reduce_sum(c * mask, axis=axis, keep_dims=keep_dims) / count,
                 primal=out)


def _exp_shifted(x: Series, axis) -> Series:
    """exp(x − max x) along ``axis``: the shift is a constant, so only the primal moves."""
    return of("Exp", x - F.reduce_max(x.primal, axis=axis, keep_dims=True))


def _logsumexp(out, x: Series, *, axis, keep_dims):
    total = _exp_shifted(x, axis).map(lambda c: F.reduce_sum(c, axis=axis, keep_dims=keep_dims))
    return of("Log", total).with_primal(out)


def _softmax(out, x: Series, *, axis):
    shifted = _exp_shifted(x, (axis,))
    total = shifted.map(lambda c: F.reduce_sum(c, axis=(axis,), keep_dims=True))
    return fitted(quotient(shifted, total), out)


def _log_softmax(out, x: Series, *, axis):
    total = _exp_shifted(x, (axis,)).map(lambda c: F.reduce_sum(c, axis=(axis,), keep_dims=True))
    return fitted(x - of("Log", total), out)


def _concat(out, *xs: Series, axis):
    def rule(k):
        if k == 0:
            return out
        parts = co.dense([co.fit(s[k], s.primal.aval) for s in xs],
                         zeros_like=[s.primal for s in xs])
        return co.linear(lambda *p: apply("Concat", p, {"axis": axis}), *parts) if parts else None
    return Series(rule, constant=all(s.constant for s in xs))


def _elu(out, x: Series, *, alpha):
    return _select(x.primal > 0.0, x, of("Exp", x) * alpha, out)


TAYLOR_RULES: dict[str, Callable] = {
    **{name: by_ode(name) for name in ODES},
    "Sin": pair("Cos", 1.0, -1.0, first=True),
    "Cos": pair("Sin", 1.0, -1.0, first=False),
    "Sinh": pair("Cosh", 1.0, 1.0, first=True),
    "Cosh": pair("Sinh", 1.0, 1.0, first=False),
    "Square": lambda out, x: product(x, x).with_primal(out),
    "GeLU": lambda out, x: (x * ((of("Erf", x * _INV_SQRT_2) + 1.0) * 0.5)).with_primal(out),
    "ReLU": lambda out, x: _masked(out, x, F.cast(x.primal > 0.0, dtype=x.primal.dtype)),
    "Abs": lambda out, x: _masked(out, x, F.sign(x.primal)),
    "Elu": _elu,
    # linear: the op itself on every coefficient
    **{name: linear(name) for name in (
        "Reshape", "Transpose", "ExpandDims", "BroadcastTo", "GetItem", "GetItemAdjoint",
        "ReduceSum", "ReduceMean", "CumSum", "Gather", "GatherAdjoint")},
    **{name: linear(name, elementwise=True) for name in ("Neg", "Cast")},
    "Add": lambda out, x, y: fitted(x + y, out),
    "Sub": lambda out, x, y: fitted(x - y, out),
    "Mul": lambda out, x, y: fitted(x * y, out),
    "RealDiv": lambda out, x, y: fitted(x / y, out),
    "SquaredDifference": lambda out, x, y: fitted(_square(x - y), out),
    "Pow": _pow,
    # atan2(x, y) = atan(x / y) up to a constant of the quadrant
    "Atan2": lambda out, x, y: fitted(of("Atan", x / y), out),
    "Maximum": lambda out, x, y: _extreme(x, y, out, x.primal > y.primal, y.primal > x.primal),
    "Minimum": lambda out, x, y: _extreme(x, y, out, x.primal < y.primal, y.primal < x.primal),
    "Select": lambda out, condition, x, y: _select(condition.primal, x, y, out),
    "MatMul": bilinear("MatMul"),
    "BatchMatMul": bilinear("BatchMatMul"),
    "ReduceMax": _reduce_extremum("ReduceMax"),
    "ReduceMin": _reduce_extremum("ReduceMin"),
    # Print's node prints and passes its first tensor on
    "PrintTensors": lambda out, first, *rest, **attrs: first.map(lambda c: c, primal=out),
    "LogSumExp": _logsumexp,
    "Softmax": _softmax,
    "LogSoftmax": _log_softmax,
    "Concat": _concat,
}


def with_taylor_rules(ops) -> list[OpDef]:
    """The op records with their Taylor rules filled in (records without one stay as they are)."""
    return [op.model_copy(update={"taylor": TAYLOR_RULES[op.name]})
            if op.name in TAYLOR_RULES and op.taylor is None else op for op in ops]
