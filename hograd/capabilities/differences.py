"""Verifying derivatives of any order against finite differences, in float64.

Reverse mode is checked the way PyTorch's gradgradcheck does it, extended to any order: with
``L₀ = f`` and ``L_k(inputs, v_k) = ∇⟨L_{k−1}(inputs), v_k⟩`` taken w.r.t. *all* of
``L_{k−1}``'s inputs — the original inputs and every earlier cotangent ``v`` — the order-k value
``⟨L_k(inputs, v_k), u⟩`` must equal a first-order central difference of AD's own (k−1)-th
derivative, ``(⟨L_{k−1}(inputs + εu), v_k⟩ − ⟨L_{k−1}(inputs − εu), v_k⟩) / 2ε``, for random
``u`` and ``v``. Errors do not compound with the order, and because cotangents are inputs too,
the backward rule of every backward rule is exercised, even for linear ops.

Each ``L_k`` is a Cell that calls ``GradOperation`` on ``L_{k−1}``: the check runs the nesting
users write, in whichever mode the context is set to.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..core.grad import GradOperation
from ..nn import Cell
from ..core.tensor import Tensor


class _Function(Cell):
    def __init__(self, fn: Callable) -> None:
        super().__init__()
        self.fn = fn

    def construct(self, *inputs):
        return self.fn(*inputs)


class _Derivative(Cell):
    """∇ of ⟨inner(first n_inputs args), sens (the remaining args)⟩ w.r.t. those n inputs."""

    def __init__(self, inner: Cell, n_inputs: int, single_output: bool) -> None:
        super().__init__()
        self.inner = inner
        self.n_inputs = n_inputs
        self.single_output = single_output
        self.grad = GradOperation(get_all=True, sens_param=True)

    def construct(self, *args):
        inputs, sens = args[:self.n_inputs], args[self.n_inputs:]
        return self.grad(self.inner)(*inputs, sens[0] if self.single_output else tuple(sens))


@dataclass
class OrderCheck:
    """One order: AD's directional value against the difference quotient, and the verdict."""

    order: int
    ad: float
    finite_difference: float
    error: float
    tolerance: float
    # the difference quotient at twice the step, computed when AD disagrees with the first:
    # when the two quotients disagree too, differences cannot decide (inconclusive)
    finite_difference_2eps: float | None = None

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.ad) and self.error <= self.tolerance)

    @property
    def inconclusive(self) -> bool:
        if self.ok or self.finite_difference_2eps is None:
            return False
        return abs(self.finite_difference - self.finite_difference_2eps) > self.tolerance


def as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _cotangents(outputs: tuple, rng: np.random.Generator) -> list[Tensor]:
    return [Tensor(rng.standard_normal(o.shape), dtype=o.dtype) if o.dtype.is_float
            else Tensor(np.zeros(o.shape, o.dtype.numpy)) for o in outputs]


def _dot(outputs: tuple, weights: Sequence[Tensor]) -> float:
    return float(sum(np.sum(o.asnumpy().astype(np.float64) * w.asnumpy())
                     for o, w in zip(outputs, weights) if o.dtype.is_float))


def derivative_levels(fn: Callable, inputs: Sequence[Tensor], max_order: int,
                      rng: np.random.Generator):
    """``L_0 … L_max_order`` as Cells, with the argument list of each (inputs, then cotangents)."""
    levels: list[Cell] = [_Function(fn)]
    arguments: list[list[Tensor]] = [list(inputs)]
    for _ in range(max_order):
        result = levels[-1](*arguments[-1])
        outputs = as_tuple(result)
        single = not isinstance(result, (tuple, list))
        levels.append(_Derivative(levels[-1], len(arguments[-1]), single))
        arguments.append(arguments[-1] + _cotangents(outputs, rng))
    return levels, arguments


def check_derivatives(fn: Callable, inputs: Sequence, max_order: int, *, seed: int = 0,
                      eps: float = 1e-6, rtol: float = 1e-6, atol: float = 1e-8
                      ) -> list[OrderCheck]:
    """Check orders 1..max_order of ``fn`` at ``inputs`` (numpy arrays or Tensors).

    Float inputs should be float64. The tolerance is ``rtol`` of the larger value plus ``atol``
    times the size of the contracted values, which bounds the quotient's rounding error.
    """
    rng = np.random.default_rng(seed)
    tensors = [x if isinstance(x, Tensor) else Tensor(np.asarray(x)) for x in inputs]
    levels, arguments = derivative_levels(fn, tensors, max_order, rng)
    results = []
    for order in range(1, max_order + 1):
        point = arguments[order - 1]
        cotangent = arguments[order][len(point):]
        direction = [rng.standard_normal(t.shape) if t.dtype.is_float else None for t in point]
        grads = as_tuple(levels[order](*arguments[order]))
        ad = float(sum(np.sum(g.asnumpy() * u) for g, u in zip(grads, direction)
                       if u is not None))

        contracted = _contraction(levels[order - 1], point, direction, cotangent)
        results.append(_compare(order, ad, contracted, eps, rtol, atol))
    return results


def _contraction(level: Callable, point: list, direction: list, weights) -> Callable:
    """``step ↦ ⟨level(point + step·direction), weights⟩``: what a central difference reads."""
    def contracted(step: float) -> float:
        moved = [Tensor(t.asnumpy() + step * u, dtype=t.dtype) if u is not None else t
                 for t, u in zip(point, direction)]
        return _dot(as_tuple(level(*moved)), weights)
    return contracted


def _compare(order: int, ad: float, contracted: Callable, eps: float, rtol: float,
             atol: float) -> OrderCheck:
    """AD's value against the central difference of ``contracted``; where they disagree, the
    quotient at 2ε too (to tell a wrong rule from noise)."""
    plus, minus = contracted(eps), contracted(-eps)
    quotient = (plus - minus) / (2 * eps)
    tolerance = rtol * max(abs(ad), abs(quotient)) + atol * (1.0 + max(abs(plus), abs(minus)))
    check = OrderCheck(order, ad, quotient, abs(ad - quotient), tolerance)
    if not check.ok:
        check.finite_difference_2eps = (contracted(2 * eps) - contracted(-2 * eps)) / (4 * eps)
    return check


# ---- forward mode -------------------------------------------------------------------------------
# The same check for forward mode: with ``F₀ = f`` and ``F_k(inputs, t_k) = J_{F_{k−1}}·t_k`` (the
# JVP w.r.t. *all* of ``F_{k−1}``'s inputs, earlier tangents included, so the forward rule of
# every forward rule is exercised), ``⟨F_k(inputs, u), w⟩`` must equal the central difference of
# ``⟨F_{k−1}, w⟩`` along ``u``, for random tangents ``u`` and weights ``w``.
class _Jvp(Cell):
    """J·t of ``inner`` (its first n_inputs args) along the tangents (the remaining args)."""

    def __init__(self, inner: Cell, n_inputs: int) -> None:
        super().__init__()
        self.inner = inner
        self.n_inputs = n_inputs

    def construct(self, *args):
        from ..core.functional import jvp
        return jvp(self.inner, tuple(args[:self.n_inputs]), tuple(args[self.n_inputs:]))[1]


def _tangents(inputs: Sequence[Tensor], rng: np.random.Generator) -> list[Tensor]:
    return [Tensor(rng.standard_normal(t.shape), dtype=t.dtype) if t.dtype.is_float
            else Tensor(np.zeros(t.shape, t.dtype.numpy)) for t in inputs]


def forward_levels(fn: Callable, inputs: Sequence[Tensor], max_order: int,
                   rng: np.random.Generator):
    """``F_0 … F_max_order`` as Cells, with the argument list of each (inputs, then tangents)."""
    levels: list[Cell] = [_Function(fn)]
    arguments: list[list[Tensor]] = [list(inputs)]
    for _ in range(max_order):
        levels.append(_Jvp(levels[-1], len(arguments[-1])))
        arguments.append(arguments[-1] + _tangents(arguments[-1], rng))
    return levels, arguments


def check_forward_derivatives(fn: Callable, inputs: Sequence, max_order: int, *, seed: int = 0,
                              eps: float = 1e-6, rtol: float = 1e-6, atol: float = 1e-8
                              ) -> list[OrderCheck]:
    """Check forward-mode orders 1..max_order of ``fn`` at ``inputs``, as ``check_derivatives``
    checks reverse mode (same tolerances)."""
    rng = np.random.default_rng(seed)
    tensors = [x if isinstance(x, Tensor) else Tensor(np.asarray(x)) for x in inputs]
    levels, arguments = forward_levels(fn, tensors, max_order, rng)
    results = []
    for order in range(1, max_order + 1):
        point = arguments[order - 1]
        direction = [t.asnumpy() if t.dtype.is_float else None
                     for t in arguments[order][len(point):]]
        tangent_out = as_tuple(levels[order](*arguments[order]))
        weights = _cotangents(tangent_out, rng)
        ad = _dot(tangent_out, weights)

        contracted = _contraction(levels[order - 1], point, direction, weights)
        results.append(_compare(order, ad, contracted, eps, rtol, atol))
    return results


__all__ = ["check_derivatives", "derivative_levels", "check_forward_derivatives",
           "forward_levels", "OrderCheck", "as_tuple"]
