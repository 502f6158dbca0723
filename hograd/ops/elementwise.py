"""Elementwise math of one input. Each rule is ``rule(g, out, x)``, written with hograd ops.

Rules use the output where that is cheaper and stabler (exp' = out, tan' = 1 + out²).
"""
from __future__ import annotations

from ..core.checkspec import checks, sample, x
from ..core.opdef import NotDifferentiable
from .call import F
from .families import unary
from .rewrites import double_negation, negated_fill

OPS = [
    unary("Neg", lambda g, out, x: -g, doc="-x", roles=("negate",),
          rewrites=(negated_fill, double_negation), elementwise="-x"),
    unary("Square", lambda g, out, x: g * x * 2.0, doc="x²", promotion="common",
          elementwise="x * x"),
    unary("Exp", lambda g, out, x: g * out, doc="eˣ", elementwise="exp(x)"),
    unary("Log", lambda g, out, x: g / x, doc="natural logarithm", domain=(0.2, 3.0),
          elementwise="log(x)"),
    unary("Sqrt", lambda g, out, x: g * 0.5 / out, doc="√x", domain=(0.2, 3.0),
          elementwise="sqrt(x)"),
    unary("Reciprocal", lambda g, out, x: -g * out * out, doc="1 / x", domain=(0.3, 3.0),
          elementwise="1 / x"),
    unary("Sin", lambda g, out, x: g * F.cos(x), doc="sine", elementwise="sin(x)"),
    unary("Cos", lambda g, out, x: -g * F.sin(x), doc="cosine", elementwise="cos(x)"),
    unary("Tan", lambda g, out, x: g * (out * out + 1.0), doc="tangent", domain=(-1.2, 1.2),
          elementwise="tan(x)"),
    unary("Sinh", lambda g, out, x: g * F.cosh(x), doc="hyperbolic sine", elementwise="sinh(x)"),
    unary("Cosh", lambda g, out, x: g * F.sinh(x), doc="hyperbolic cosine", elementwise="cosh(x)"),
    unary("Atanh", lambda g, out, x: g / (1.0 - x * x), doc="inverse hyperbolic tangent",
          domain=(-0.8, 0.8), elementwise="arctanh(x)"),
    unary("Sign", NotDifferentiable(reason="Sign is piecewise constant: its derivative is 0 "
                                           "where it exists and undefined at 0"),
          doc="-1, 0 or 1 by the sign of x", promotion="common",
          checks=checks(sample(x(2, 3, both_signs=True)), derivative="none")),
]

_TWO_OVER_SQRT_PI = 1.1283791670955126

OPS += [
    # |x|' is ±1 (a Select of ±g, whose own derivative is zero away from the kink), and 0 at
    # x = 0, as MindSpore and PyTorch define it
    unary("Abs", lambda g, out, x: F.select(x > 0.0, g, F.select(x < 0.0, -g, F.zeros_like(g))),
          doc="|x|", promotion="common", domain=(0.3, 2.0),
          checks=checks(sample(x(2, 3, both_signs=True)), sample(x(both_signs=True))),
          elementwise="abs(x)"),
    unary("Erf", lambda g, out, x: g * F.exp(-(x * x)) * _TWO_OVER_SQRT_PI, doc="error function"),
    unary("Erfc", lambda g, out, x: g * F.exp(-(x * x)) * -_TWO_OVER_SQRT_PI,
          doc="complementary error function 1 - erf(x)"),
    unary("Asin", lambda g, out, x: g * F.rsqrt(1.0 - x * x), doc="inverse sine",
          domain=(-0.8, 0.8), elementwise="arcsin(x)"),
    unary("Acos", lambda g, out, x: -g * F.rsqrt(1.0 - x * x), doc="inverse cosine",
          domain=(-0.8, 0.8), elementwise="arccos(x)"),
    unary("Atan", lambda g, out, x: g / (x * x + 1.0), doc="inverse tangent",
          elementwise="arctan(x)"),
    unary("Asinh", lambda g, out, x: g * F.rsqrt(x * x + 1.0), doc="inverse hyperbolic sine",
          elementwise="arcsinh(x)"),
    unary("Acosh", lambda g, out, x: g * F.rsqrt(x * x - 1.0), doc="inverse hyperbolic cosine",
          domain=(1.2, 3.0), elementwise="arccosh(x)"),
    unary("Log1p", lambda g, out, x: g / (x + 1.0), doc="log(1 + x), accurate near 0",
          domain=(-0.5, 2.0), elementwise="log1p(x)"),
    unary("Expm1", lambda g, out, x: g * (out + 1.0), doc="eˣ - 1, accurate near 0",
          elementwise="expm1(x)"),
    unary("Rsqrt", lambda g, out, x: g * out * out * out * -0.5, doc="1 / √x",
          domain=(0.3, 3.0), elementwise="1 / sqrt(x)"),
]
