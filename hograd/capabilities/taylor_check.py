"""Checking an op's Taylor rule: its jet, order by order, against finite differences.

Along a random path ``x(t) = x₀ + t·v`` through the op's first sample (float inputs move,
indices and conditions stay), one jet of order n gives every derivative ``dᵏ/dtᵏ op(x(t))``,
k ≤ n. Order k is compared with a central difference of the jet's own order k−1 at ``x₀ ± ε·v``
(three jets in all), in float64 — the same anchoring as the derivative checks: order 1 is
against the kernel's values, so a wrong rule cannot agree with itself.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from pydantic import BaseModel

from .. import context
from ..core.errors import HogradError
from ..core.opdef import OpDef
from ..core.taylor import NoTaylorRuleError
from ..core.tensor import Tensor
from .checker import _caller, _inputs, _quietly
from ..core.checkspec import OpSpec

TAYLOR_ORDER = 6
_EPS = 1e-5
_RTOL = 1e-5


class TaylorResult(BaseModel):
    """One op's Taylor rule: ``verified`` to an order, ``wrong`` at one, ``no rule``, ``error``,
    ``constant`` (a bool output), or ``not checked`` (no spec, or an op whose derivative is
    documented as zero or absent)."""

    status: str
    verified_order: int = 0
    detail: str = ""


def check_taylor(op: OpDef, spec: Optional[OpSpec], order: int = TAYLOR_ORDER,
                 seed: int = 0) -> TaylorResult:
    """Verify ``op``'s Taylor rule on the CPU to ``order``; never raises."""
    if spec is None or spec.derivative != "checked":
        return TaylorResult(status="not checked",
                            detail="no spec" if spec is None else f"derivative: {spec.derivative}")
    try:
        with _quietly(), context.device_scope("cpu"):
            return _check(op, spec, order, seed)
    except NoTaylorRuleError as err:
        return TaylorResult(status="no rule", detail=str(err).split(" (")[0])
    except (HogradError, ValueError, TypeError) as err:
        return TaylorResult(status="error", detail=f"{type(err).__name__}: {err}")


class _Constant(Exception):
    """The op's output is not a float: nothing moves with t."""


def _check(op: OpDef, spec: OpSpec, order: int, seed: int) -> TaylorResult:
    from ..taylor_api import jet
    rng = np.random.default_rng(seed)
    sample = spec.samples[0]
    arrays = _inputs(op, sample, rng)
    moving = [i for i, a in enumerate(arrays) if np.issubdtype(a.dtype, np.floating)]
    directions = [rng.uniform(-1.0, 1.0, arrays[i].shape) for i in moving]
    call = _caller(op, sample)

    def along(*floats):
        full = [Tensor(a) for a in arrays]
        for i, tensor in zip(moving, floats):
            full[i] = tensor
        return call(*full)

    def derivatives(shift: float) -> list[np.ndarray]:
        primals = tuple(Tensor(arrays[i] + shift * v) for i, v in zip(moving, directions))
        series = tuple(Tensor(np.concatenate([v[None], np.zeros((order - 1,) + v.shape)]))
                       for v in directions)
        out, out_series = jet(along, primals, series)
        if any(not v.dtype.is_float for v in (out if isinstance(out, (tuple, list)) else (out,))):
            raise _Constant()
        leaves = out_series if isinstance(out_series, (tuple, list)) else (out_series,)
        values = out if isinstance(out, (tuple, list)) else (out,)
        # per order k (0 … n): every output's k-th derivative, flattened into one vector
        return [np.concatenate([np.ravel(v.asnumpy()) for v in values])] + [
            np.concatenate([np.ravel(s.asnumpy()[k]) for s in leaves]) for k in range(order)]

    try:
        centre = derivatives(0.0)
    except _Constant:
        return TaylorResult(status="constant", detail="a non-float output carries no series")
    ahead, behind = derivatives(_EPS), derivatives(-_EPS)
    for k in range(1, order + 1):
        ad = centre[k]
        difference = (ahead[k - 1] - behind[k - 1]) / (2 * _EPS)
        scale = max(1.0, float(np.max(np.abs(ad), initial=0.0)),
                    float(np.max(np.abs(centre[k - 1]), initial=0.0)))
        error = float(np.max(np.abs(ad - difference), initial=0.0))
        if not np.all(np.isfinite(ad)) or error > _RTOL * scale:
            return TaylorResult(status="wrong", verified_order=k - 1,
                                detail=f"order {k}: largest difference from the finite "
                                       f"difference {error:.3g} (scale {scale:.3g})")
    return TaylorResult(status="verified", verified_order=order)
