"""Elementwise arithmetic of two broadcasting inputs. Rules are ``rule(g, out, x, y)``."""
from __future__ import annotations

import operator

from .call import F
from .families import binary
from .rewrites import fold, negated_other_when, other_when, zero_when_either_is_zero
from ..core.checkspec import checks, sample, x


def _pow_grad_base(g, out, x, y):
    # y·x^(y−1); where x and y are both 0 the term is 0·0^−1, NaN, which would poison every
    # higher derivative of x**k at 0 (r**2 at r = 0): there the exponent is moved off 0, so the
    # derivative of x^0 is 0·x^0 = 0 at every order. Elsewhere the rule is exact, its derivative
    # in y at y = 0 included (x^−1, which PyTorch's mask loses).
    y_zero = F.equal(y, 0.0)
    both_zero = F.select(F.equal(x, 0.0), y_zero, F.zeros_like(y_zero))
    return g * y * F.pow(x, F.select(both_zero, 1.0, y) - 1.0)


def _pow_grad_exponent(g, out, x, y):
    # x^y·log x; where x = 0 and x^y = 0 (y > 0) the term is 0·log 0, NaN, though x^y is
    # constant 0 in y there: log reads 1 at exactly those points, so the derivative is 0 (as
    # in PyTorch) and no NaN reaches higher orders. Where x = 0 but x^y is not 0 (y = 0:
    # x^0 = 1) the term stays x^y·log 0 = -inf, which it is.
    vanishing = F.select(F.equal(x, 0.0), F.equal(out, 0.0), F.zeros_like(F.equal(x, 0.0)))
    return g * out * F.log(F.select(vanishing, F.ones_like(out), x))


def _chosen(wins, x, y, g):
    """g where an input of Maximum/Minimum wins, g/2 where it ties, else 0."""
    return F.select(wins, g, F.select(F.equal(x, y), g * 0.5, F.zeros_like(g)))


OPS = [
    # TensorAdd: MindSpore's old name for Add, still in its tests
    binary("Add", lambda g, out, x, y: g, lambda g, out, x, y: g, doc="x + y",
           aliases=("TensorAdd",), roles=("add",), commutative=True,
           rewrites=(fold(operator.add), other_when(0, 0), other_when(1, 0)), elementwise="x + y"),
    binary("Sub", lambda g, out, x, y: g, lambda g, out, x, y: -g, doc="x - y", roles=("subtract",),
           rewrites=(fold(operator.sub), other_when(1, 0), negated_other_when(0, 0)),
           elementwise="x - y"),
    binary("Mul", lambda g, out, x, y: g * y, lambda g, out, x, y: g * x, doc="x * y",
           roles=("multiply",), commutative=True,
           rewrites=(fold(operator.mul), zero_when_either_is_zero, other_when(0, 1),
                     other_when(1, 1), negated_other_when(0, -1), negated_other_when(1, -1)),
           elementwise="x * y"),
    binary("RealDiv", lambda g, out, x, y: g / y, lambda g, out, x, y: -g * out / y,
           doc="x / y (true division; integers become float32)", promotion="float",
           aliases=("Div",), domain=(0.3, 2.0), functional="div", roles=("divide",),
           rewrites=(fold(operator.truediv, unless_second=0), other_when(1, 1)),
           elementwise="x / y"),
    # piecewise constant: zero derivative where it exists, and MindSpore's bprop gives zeros
    binary("FloorDiv", None, None, doc="floor(x / y), in the inputs' dtype",
           domain=(0.3, 2.0),
           checks=checks(sample(x(2, 3), x(3)), sample(x(), x(2)), derivative="zero",
                         reason="floor division is piecewise constant: its derivative is zero "
                                "where it exists (MindSpore's bprop returns zeros)")),
    binary("Pow", _pow_grad_base, _pow_grad_exponent, doc="x ** y", domain=(0.3, 2.0)),
    # the chosen input gets g; at a tie each gets g/2 (as JAX and PyTorch do, and as ReduceMax
    # splits between equal elements); a NaN is chosen (propagated) and passes g to neither
    binary("Maximum", lambda g, out, x, y: _chosen(x > y, x, y, g),
           lambda g, out, x, y: _chosen(y > x, x, y, g), doc="elementwise max (NaN wins)"),
    binary("Minimum", lambda g, out, x, y: _chosen(x < y, x, y, g),
           lambda g, out, x, y: _chosen(y < x, x, y, g), doc="elementwise min (NaN wins)"),
    binary("SquaredDifference", lambda g, out, x, y: g * (x - y) * 2.0,
           lambda g, out, x, y: g * (y - x) * 2.0, doc="(x - y)²", elementwise="(x - y) * (x - y)"),
    # MindSpore's argument order: Atan2()(x, y) is the angle of the point (y, x), arctan(x / y)
    binary("Atan2", lambda g, out, x, y: g * y / (x * x + y * y),
           lambda g, out, x, y: -g * x / (x * x + y * y), promotion="float",
           doc="arctan(x / y) in the quadrant of (y, x)", domain=(0.3, 2.0),
           elementwise="arctan2(x, y)"),
]
