"""Verifying derivatives of any order against finite differences, in float64.

Order k is checked against a *first-order* central difference of AD's own (k−1)-th derivative,
so errors do not compound with the order: with ``G₀ = f`` and ``G_k = ∇ₓ⟨G_{k−1}(x), w_{k−1}⟩``
(random cotangents ``w``), ``⟨G_k(x), u⟩`` must equal
``(⟨G_{k−1}(x+εu), w_{k−1}⟩ − ⟨G_{k−1}(x−εu), w_{k−1}⟩) / 2ε`` for a random direction ``u``.
Each ``G_k`` is a Cell that calls ``GradOperation`` on ``G_{k−1}``, so the check runs the same
nesting users write, in whichever mode the context is set to.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from . import dtype as dt
from .core.grad import GradOperation
from .nn import Cell
from .tensor import Tensor


class _Function(Cell):
    def __init__(self, fn: Callable) -> None:
        super().__init__()
        self.fn = fn

    def construct(self, *inputs):
        return self.fn(*inputs)


class _Derivative(Cell):
    """∇ of ⟨inner(inputs), sens⟩ w.r.t. every input."""

    def __init__(self, inner: Cell, sens) -> None:
        super().__init__()
        self.inner = inner
        self.sens = sens
        self.grad = GradOperation(get_all=True, sens_param=True)

    def construct(self, *inputs):
        return self.grad(self.inner)(*inputs, self.sens)


@dataclass
class OrderCheck:
    """The outcome of checking one order: AD's directional value, the difference quotient."""

    order: int
    ad: float
    finite_difference: float
    error: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.ad) and self.error <= self.tolerance)


def _as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _random_like(outputs: tuple, rng: np.random.Generator) -> tuple:
    sens = []
    for out in outputs:
        if out.dtype.is_float:
            sens.append(Tensor(rng.standard_normal(out.shape), dtype=out.dtype))
        else:
            sens.append(Tensor(np.zeros(out.shape, out.dtype.numpy)))
    return tuple(sens)


def _dot(outputs: tuple, weights: tuple) -> float:
    return float(sum(np.sum(o.asnumpy().astype(np.float64) * w.asnumpy())
                     for o, w in zip(outputs, weights) if o.dtype.is_float))


def derivative_chain(fn: Callable, inputs: Sequence[Tensor], max_order: int,
                     rng: np.random.Generator) -> tuple[list[Cell], list]:
    """``G_0 … G_max_order`` as Cells, and the random cotangent each level is contracted with."""
    levels: list[Cell] = [_Function(fn)]
    sens_per_level = []
    for _ in range(max_order):
        outputs = _as_tuple(levels[-1](*inputs))
        sens = _random_like(outputs, rng)
        sens_per_level.append(sens)
        single = not isinstance(levels[-1](*inputs), (tuple, list))
        levels.append(_Derivative(levels[-1], sens[0] if single else sens))
    return levels, sens_per_level


def check_derivatives(fn: Callable, inputs: Sequence[np.ndarray], max_order: int, *,
                      seed: int = 0, eps: float = 1e-6, rtol: float = 1e-6,
                      atol: float = 1e-8) -> list[OrderCheck]:
    """Check orders 1..max_order of ``fn`` at float64 ``inputs``; one ``OrderCheck`` per order.

    The tolerance is ``rtol`` of the larger of the two values plus ``atol`` times the size of
    the contracted values, which bounds the rounding error of the difference quotient.
    """
    rng = np.random.default_rng(seed)
    tensors = [Tensor(np.asarray(x)) for x in inputs]
    levels, sens = derivative_chain(fn, tensors, max_order, rng)
    direction = [rng.standard_normal(np.shape(x)) if t.dtype.is_float else np.zeros(np.shape(x))
                 for x, t in zip(inputs, tensors)]
    results = []
    for order in range(1, max_order + 1):
        grads = _as_tuple(levels[order](*tensors))
        ad = float(sum(np.sum(g.asnumpy() * u) for g, u in zip(grads, direction)
                       if g.dtype.is_float))

        def contracted(sign: float) -> float:
            shifted = [Tensor(np.asarray(x) + sign * eps * u, dtype=t.dtype)
                       if t.dtype.is_float else t
                       for x, u, t in zip(inputs, direction, tensors)]
            return _dot(_as_tuple(levels[order - 1](*shifted)), sens[order - 1])

        plus, minus = contracted(1.0), contracted(-1.0)
        quotient = (plus - minus) / (2 * eps)
        tolerance = rtol * max(abs(ad), abs(quotient)) + atol * (1.0 + max(abs(plus), abs(minus)))
        results.append(OrderCheck(order, ad, quotient, abs(ad - quotient), tolerance))
    return results


__all__ = ["check_derivatives", "derivative_chain", "OrderCheck", "dt"]
