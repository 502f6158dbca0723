"""Activation functions of neural networks, with derivatives in terms of their outputs."""
from __future__ import annotations

from ..core.errors import OpInputError
from ..core.ir import AbstractValue
from ..core.opdef import OpDef, StrictAttrs
from .call import F
from .families import unary


class SoftmaxAttrs(StrictAttrs):
    axis: int = -1


def _softmax_infer(x: AbstractValue, *, axis: int) -> AbstractValue:
    if not x.dtype.is_float:
        raise OpInputError(f"input 'x' must be a float tensor, got {x.dtype.name}")
    if not -max(x.ndim, 1) <= axis < max(x.ndim, 1):
        raise OpInputError(f"axis {axis} is out of range for a tensor of rank {x.ndim}")
    return x


def _softmax_grad(g, out, x, *, axis):
    return out * (g - F.reduce_sum(g * out, axis=(axis,), keep_dims=True))


OPS = [
    unary("Tanh", lambda g, out, x: g * (1.0 - out * out), doc="hyperbolic tangent"),
    unary("Sigmoid", lambda g, out, x: g * out * (1.0 - out), doc="1 / (1 + e⁻ˣ)"),
    unary("ReLU", lambda g, out, x: g * F.cast(x > 0.0, dtype=g.dtype), doc="max(x, 0)",
          promotion="common", functional="relu"),
    OpDef(name="Softmax", inputs=("x",), infer=_softmax_infer, attributes=SoftmaxAttrs,
          backward=(_softmax_grad,), doc="exp(x) / sum(exp(x)) along axis"),
]
