"""Rounding and remainders: ``Floor``, ``FloorMod`` (Python's ``%``), ``Mod`` (C's fmod), and
``ClipByValue``.

Floor is piecewise constant (zero derivative). A remainder is ``x - y·q`` with ``q`` the
rounded quotient, so ``∂/∂x = 1`` and ``∂/∂y = -q``; ``q`` is recovered as ``(x - out) / y``,
whose own derivatives vanish, so every higher order is right too.
"""
from __future__ import annotations

from typing import Optional, Union

from pydantic import StrictFloat, StrictInt

from ..core.checkspec import checks, fixed, sample, x
from ..core.opdef import OpDef, StrictAttrs
from .call import F
from .families import binary, unary


def _quotient_grad(g, out, x, y):
    # -q with q = (x - out) / y, the integer the remainder subtracted y that many times
    return g * (out - x) / y


class ClipAttrs(StrictAttrs):
    clip_value_min: Optional[Union[StrictInt, StrictFloat]] = None
    clip_value_max: Optional[Union[StrictInt, StrictFloat]] = None


def _clip(x, *, clip_value_min, clip_value_max):
    if clip_value_min is not None:
        x = F.maximum(x, clip_value_min)
    if clip_value_max is not None:
        x = F.minimum(x, clip_value_max)
    return x


# quotients x / y kept away from integers, where remainders jump
DIVIDENDS = fixed([[1.3, -2.7, 4.1], [-0.6, 3.4, -5.2]], "float64")
DIVISORS = fixed([0.8, -1.5, 2.2], "float64")

OPS = [
    unary("Floor", None, doc="the largest integer ≤ x (zero derivative)", promotion="common",
          checks=checks(sample(x(2, 3, both_signs=True)), derivative="zero",
                        reason="floor is piecewise constant: its derivative is zero where it "
                               "exists")),
    binary("FloorMod", lambda g, out, x, y: g, _quotient_grad, domain=(0.3, 2.0),
           doc="x - y·floor(x / y), the sign of y (Python's %)",
           checks=checks(sample(DIVIDENDS, DIVISORS))),
    binary("Mod", lambda g, out, x, y: g, _quotient_grad, domain=(0.3, 2.0),
           doc="x - y·trunc(x / y), the sign of x (C's fmod)",
           checks=checks(sample(DIVIDENDS, DIVISORS))),
    OpDef(name="ClipByValue", inputs=("x",), composite=_clip, attributes=ClipAttrs,
          call_attributes=("clip_value_min", "clip_value_max"),
          doc="x limited to [clip_value_min, clip_value_max] (either may be None): "
              "clip_by_value(x, 0.0, 1.0)",
          checks=checks(sample(fixed([[-1.7, -0.4, 0.3], [0.9, 1.6, 2.4]], "float64"),
                               clip_value_min=-1.0, clip_value_max=1.5),
                        sample(x(3, both_signs=True), clip_value_min=0.2))),
]
