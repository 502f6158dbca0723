"""Elementwise arithmetic of two broadcasting inputs. Rules are ``rule(g, out, x, y)``."""
from __future__ import annotations

from .call import F
from .families import binary

OPS = [
    # TensorAdd: MindSpore's old name for Add, still in its tests
    binary("Add", lambda g, out, x, y: g, lambda g, out, x, y: g, doc="x + y",
           aliases=("TensorAdd",)),
    binary("Sub", lambda g, out, x, y: g, lambda g, out, x, y: -g, doc="x - y"),
    binary("Mul", lambda g, out, x, y: g * y, lambda g, out, x, y: g * x, doc="x * y"),
    binary("RealDiv", lambda g, out, x, y: g / y, lambda g, out, x, y: -g * out / y,
           doc="x / y (true division; integers become float32)", promotion="float",
           aliases=("Div",), domain=(0.3, 2.0), functional="div"),
    # piecewise constant: zero derivative where it exists, and MindSpore's bprop gives zeros
    binary("FloorDiv", None, None, doc="floor(x / y), in the inputs' dtype",
           domain=(0.3, 2.0)),
    binary("Pow", lambda g, out, x, y: g * y * F.pow(x, y - 1.0),
           lambda g, out, x, y: g * out * F.log(x),
           doc="x ** y", domain=(0.3, 2.0)),
    # ties (measure zero) send the whole gradient to x
    binary("Maximum", lambda g, out, x, y: F.select(x >= y, g, F.zeros_like(g)),
           lambda g, out, x, y: F.select(x >= y, F.zeros_like(g), g), doc="elementwise max"),
    binary("Minimum", lambda g, out, x, y: F.select(x <= y, g, F.zeros_like(g)),
           lambda g, out, x, y: F.select(x <= y, F.zeros_like(g), g), doc="elementwise min"),
    binary("SquaredDifference", lambda g, out, x, y: g * (x - y) * 2.0,
           lambda g, out, x, y: g * (y - x) * 2.0, doc="(x - y)²"),
    # MindSpore's argument order: Atan2()(x, y) is the angle of the point (y, x), arctan(x / y)
    binary("Atan2", lambda g, out, x, y: g * y / (x * x + y * y),
           lambda g, out, x, y: -g * x / (x * x + y * y), promotion="float",
           doc="arctan(x / y) in the quadrant of (y, x)", domain=(0.3, 2.0)),
]
