"""Elementwise arithmetic of two broadcasting inputs. Rules are ``rule(g, out, x, y)``."""
from __future__ import annotations

from .call import F
from .families import binary

OPS = [
    binary("Add", lambda g, out, x, y: g, lambda g, out, x, y: g, doc="x + y"),
    binary("Sub", lambda g, out, x, y: g, lambda g, out, x, y: -g, doc="x - y"),
    binary("Mul", lambda g, out, x, y: g * y, lambda g, out, x, y: g * x, doc="x * y"),
    binary("RealDiv", lambda g, out, x, y: g / y, lambda g, out, x, y: -g * out / y,
           doc="x / y (true division; integers become float32)", promotion="float",
           aliases=("Div",), domain=(0.3, 2.0), functional="div"),
    binary("Pow", lambda g, out, x, y: g * y * F.pow(x, y - 1.0),
           lambda g, out, x, y: g * out * F.log(x),
           doc="x ** y", domain=(0.3, 2.0)),
]
