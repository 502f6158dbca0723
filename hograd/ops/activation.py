"""Activation functions of neural networks, with derivatives in terms of their outputs."""
from __future__ import annotations

from ..core.checkspec import checks, sample, x
from ..core.errors import OpInputError
from ..core.ir import AbstractValue
from ..core.opdef import OpDef, StrictAttrs
from .call import F
from .families import self_adjoint_jvp, unary


class SoftmaxAttrs(StrictAttrs):
    axis: int = -1


class EluAttrs(StrictAttrs):
    alpha: float = 1.0


_INV_SQRT_2 = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327


def _gelu_grad(g, out, x):
    # d/dx x·Φ(x) = Φ(x) + x·φ(x)
    cdf = (F.erf(x * _INV_SQRT_2) + 1.0) * 0.5
    return g * (cdf + x * F.exp(x * x * -0.5) * _INV_SQRT_2PI)


def _float_input(x: AbstractValue, **_) -> AbstractValue:
    if not x.dtype.is_float:
        raise OpInputError(f"input 'x' must be a float tensor, got {x.dtype.name}")
    return x


def _softmax_infer(x: AbstractValue, *, axis: int) -> AbstractValue:
    _float_input(x)
    if not -max(x.ndim, 1) <= axis < max(x.ndim, 1):
        raise OpInputError(f"axis {axis} is out of range for a tensor of rank {x.ndim}")
    return x


def _softmax_grad(g, out, x, *, axis):
    return out * (g - F.reduce_sum(g * out, axis=(axis,), keep_dims=True))


def _log_softmax_grad(g, out, x, *, axis):
    return g - F.exp(out) * F.reduce_sum(g, axis=(axis,), keep_dims=True)


def _log_softmax_jvp(tangents, out, x, *, axis):
    # J = I − 1·softmaxᵀ is not symmetric: the tangent minus its softmax-weighted mean
    return tangents[0] - F.reduce_sum(tangents[0] * F.exp(out), axis=(axis,), keep_dims=True)


def _elu_grad(g, out, x, *, alpha):
    return F.select(x > 0.0, g, g * (out + alpha))


OPS = [
    unary("Tanh", lambda g, out, x: g * (1.0 - out * out), doc="hyperbolic tangent",
          elementwise="tanh(x)"),
    unary("Sigmoid", lambda g, out, x: g * out * (1.0 - out), doc="1 / (1 + e⁻ˣ)",
          elementwise="(tanh(x * 0.5) + 1) * 0.5"),
    unary("ReLU", lambda g, out, x: g * F.cast(x > 0.0, dtype=g.dtype), doc="max(x, 0)",
          promotion="common", functional="relu",
          # NaN stays NaN, as numpy's maximum keeps it
          elementwise="where((x > 0) | (x != x), x, 0)",
          checks=checks(sample(x(2, 3, both_signs=True)), sample(x(both_signs=True)))),
    OpDef(name="Softmax", inputs=("x",), infer=_softmax_infer, attributes=SoftmaxAttrs,
          backward=(_softmax_grad,), forward=self_adjoint_jvp((_softmax_grad,)),
          doc="exp(x) / sum(exp(x)) along axis",
          checks=checks(sample(x(2, 3)), sample(x(3, 2), axis=0))),
    OpDef(name="LogSoftmax", inputs=("x",), infer=_softmax_infer, attributes=SoftmaxAttrs,
          backward=(_log_softmax_grad,), forward=_log_softmax_jvp,
          doc="x - log(sum(exp(x))) along axis",
          checks=checks(sample(x(2, 3)), sample(x(3, 2), axis=0))),
    unary("Softplus", lambda g, out, x: g * F.sigmoid(x), doc="log(1 + eˣ)"),
    unary("LogSigmoid", lambda g, out, x: g * F.sigmoid(-x), doc="log(sigmoid(x))"),
    unary("GeLU", _gelu_grad, doc="x·Φ(x) with the normal CDF Φ (exact, erf form)",
          functional="gelu"),
    OpDef(name="Elu", inputs=("x",), infer=_float_input,
          attributes=EluAttrs, domain=(0.3, 2.0),
          backward=(_elu_grad,), forward=self_adjoint_jvp((_elu_grad,)),
          doc="x above 0, alpha·(eˣ - 1) below",
          checks=checks(sample(x(2, 3, both_signs=True)),
                        sample(x(4, both_signs=True), alpha=0.5))),
]
