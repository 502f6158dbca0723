"""Elementwise math of one input. Each rule is ``rule(g, out, x)``, written with hograd ops.

Rules use the output where that is cheaper and stabler (exp' = out, tan' = 1 + out²).
"""
from __future__ import annotations

from ..core.opdef import NotDifferentiable
from .call import F
from .families import unary

OPS = [
    unary("Neg", lambda g, out, x: -g, doc="-x"),
    unary("Square", lambda g, out, x: g * x * 2.0, doc="x²", promotion="common"),
    unary("Exp", lambda g, out, x: g * out, doc="eˣ"),
    unary("Log", lambda g, out, x: g / x, doc="natural logarithm", domain=(0.2, 3.0)),
    unary("Sqrt", lambda g, out, x: g * 0.5 / out, doc="√x", domain=(0.2, 3.0)),
    unary("Reciprocal", lambda g, out, x: -g * out * out, doc="1 / x", domain=(0.3, 3.0)),
    unary("Sin", lambda g, out, x: g * F.cos(x), doc="sine"),
    unary("Cos", lambda g, out, x: -g * F.sin(x), doc="cosine"),
    unary("Tan", lambda g, out, x: g * (out * out + 1.0), doc="tangent", domain=(-1.2, 1.2)),
    unary("Sinh", lambda g, out, x: g * F.cosh(x), doc="hyperbolic sine"),
    unary("Cosh", lambda g, out, x: g * F.sinh(x), doc="hyperbolic cosine"),
    unary("Atanh", lambda g, out, x: g / (1.0 - x * x), doc="inverse hyperbolic tangent",
          domain=(-0.8, 0.8)),
    unary("Sign", NotDifferentiable(reason="Sign is piecewise constant: its derivative is 0 "
                                           "where it exists and undefined at 0"),
          doc="-1, 0 or 1 by the sign of x", promotion="common"),
]
