"""Running an op's spec on a device, order by order, and deciding the cell's status.

Statuses: ``verified`` (to an order), ``wrong`` (the first order whose check failed, and the
figures), ``not differentiable`` / ``zero by definition`` (as the spec documents, and checked),
``expected failure`` (as the spec documents), ``no kernel``, ``device absent`` (with the reason),
``inconclusive`` (finite differences too noisy to decide, with the figures), ``unchecked`` (no
spec), ``error`` (the check itself crashed). A claim that does not hold — an order the spec
claims that fails, an expected failure that passes, a non-differentiable op that differentiates —
sets ``claim_ok`` to False.
"""
from __future__ import annotations

import contextlib
import io
import time
from typing import Optional

import numpy as np
from pydantic import BaseModel

from .. import context
from .. import dtype as dt
from .differences import (as_tuple, check_derivatives, check_forward_derivatives,
                      derivative_levels, forward_levels)
from ..core.errors import HogradError, NotDifferentiableError
from ..core.grad import GradOperation
from ..core.opdef import NotDifferentiable, OpDef
from ..core.registry import Registry
from ..ops.call import call_op
from ..core.tensor import Tensor
from ..core.checkspec import OpSpec, Sample

STATUSES = ("verified", "wrong", "not differentiable", "zero by definition", "expected failure",
            "no kernel", "device absent", "inconclusive", "unchecked", "error")


class OrderResult(BaseModel):
    """One order of one sample: AD's directional value against the difference quotient."""

    order: int
    sample: int
    ok: bool
    ad: float
    finite_difference: float
    error: float
    tolerance: float


class CellResult(BaseModel):
    """One op on one device."""

    status: str
    verified_order: int = 0
    detail: str = ""
    claim_ok: bool = True
    orders: list[OrderResult] = []
    seconds: float = 0.0


def kernel_devices(registry: Registry, op: OpDef) -> Optional[list[str]]:
    """Devices with a kernel for ``op``; None when it needs none (composites, generic kernels)."""
    if op.composite is not None or op.kernel_factory is not None:
        return None
    return sorted(d for (name, d) in registry.kernels if name == op.name)


# the two modes a cell is checked in: reverse (GradOperation nested) and forward (jvp nested)
MODES = ("reverse", "forward")


def check_cell(registry: Registry, op: OpDef, device_name: str, max_order: int,
               seed: int = 0, mode: str = "reverse") -> CellResult:
    """Check ``op`` on ``device_name`` up to ``max_order`` in ``mode``; never raises."""
    started = time.perf_counter()
    result = _check(registry, op, device_name, max_order, seed, mode)
    result.seconds = time.perf_counter() - started
    return result


def _check(registry: Registry, op: OpDef, device_name: str, max_order: int,
           seed: int, mode: str = "reverse") -> CellResult:
    device = registry.devices[device_name]
    if not device.present:
        return CellResult(status="device absent", detail=device.absent_reason or "")
    having = kernel_devices(registry, op)
    if having is not None and device_name not in having:
        return CellResult(status="no kernel",
                          detail=f"kernels on: {', '.join(having) or 'no device'}")
    spec: Optional[OpSpec] = registry.specs.get(op.name)
    if spec is None:
        return CellResult(status="unchecked", detail="no check spec registered for this op")
    with _quietly(), context.device_scope(device_name):
        try:
            if spec.derivative == "none":
                return _check_not_differentiable(op, spec, seed, mode)
            if spec.derivative == "zero":
                return _check_zero(op, spec, seed, mode)
            if dt.float64 not in device.dtypes:
                return _check_against_cpu(op, spec, device_name, max_order, seed, mode)
            return _check_orders(op, spec, max_order, seed, mode)
        except Exception as err:  # a crashing check is a finding, not a reason to stop the matrix
            return CellResult(status="error", claim_ok=False,
                              detail=f"{type(err).__name__}: {err}")


def _inputs(op: OpDef, sample: Sample, rng: np.random.Generator) -> list[np.ndarray]:
    return [item.make(op.domain, rng) for item in sample.inputs]


def _caller(op: OpDef, sample: Sample):
    """The op as a function of its sample's tensors (gathered into one tuple if it takes one)."""
    def call(*inputs):
        return call_op(op, (inputs,) if sample.tuple_input else inputs, dict(sample.attrs))
    return call


def _derive_all(call, inputs: list, mode: str) -> tuple:
    """The first derivative w.r.t. every input: gradients, or the JVP along ones."""
    if mode == "forward":
        from ..core.functional import jvp
        ones = [Tensor(np.ones(t.shape, t.dtype.numpy)) for t in inputs]
        return as_tuple(jvp(call, tuple(inputs), tuple(ones))[1])
    return as_tuple(GradOperation(get_all=True)(call)(*inputs))


def _check_orders(op: OpDef, spec: OpSpec, max_order: int, seed: int,
                  mode: str = "reverse") -> CellResult:
    check_derivatives_in = check_forward_derivatives if mode == "forward" else check_derivatives
    rng = np.random.default_rng(seed)
    orders: list[OrderResult] = []
    first_failure: Optional[tuple[int, str, bool]] = None  # (order, detail, inconclusive)
    for index, sample in enumerate(spec.samples):
        checks = check_derivatives_in(_caller(op, sample), _inputs(op, sample, rng), max_order,
                                   seed=seed + index, eps=spec.eps, rtol=spec.rtol,
                                   atol=spec.atol)
        for check in checks:
            orders.append(OrderResult(order=check.order, sample=index, ok=check.ok,
                                      ad=check.ad, finite_difference=check.finite_difference,
                                      error=check.error, tolerance=check.tolerance))
            if not check.ok and (first_failure is None or check.order < first_failure[0]):
                figures = (f"sample {index}, order {check.order}: AD {check.ad:.10g}, finite "
                           f"difference {check.finite_difference:.10g} (at 2ε "
                           f"{check.finite_difference_2eps:.10g}), tolerance "
                           f"{check.tolerance:.2g}")
                first_failure = (check.order, figures, check.inconclusive)
    if first_failure is None:
        claim_ok = all(k > max_order for k in spec.expected_failures)
        detail = "" if claim_ok else (
            f"expected failure at order {min(spec.expected_failures)} now passes: "
            f"remove it from the spec ({spec.expected_failures[min(spec.expected_failures)]})")
        return CellResult(status="verified", verified_order=max_order, claim_ok=claim_ok,
                          detail=detail, orders=orders)
    order, figures, inconclusive = first_failure
    if order in spec.expected_failures:
        return CellResult(status="expected failure", verified_order=order - 1, orders=orders,
                          detail=f"order {order}: {spec.expected_failures[order]}")
    claim_ok = order > spec.max_order
    status = "inconclusive" if inconclusive else "wrong"
    return CellResult(status=status, verified_order=order - 1, claim_ok=claim_ok or inconclusive,
                      detail=figures, orders=orders)


# float32 results against float64 ones: a few float32 ulps of the values involved
FLOAT32_RTOL, FLOAT32_ATOL = 2e-3, 2e-4


def _check_against_cpu(op: OpDef, spec: OpSpec, device_name: str, max_order: int,
                       seed: int, mode: str = "reverse") -> CellResult:
    """For a device without float64: its derivatives in float32 against the CPU's in float64
    (which the CPU column verifies against finite differences)."""
    levels_in = forward_levels if mode == "forward" else derivative_levels
    rng = np.random.default_rng(seed)
    worst_order, figures = None, ""
    for index, sample in enumerate(spec.samples):
        with context.device_scope("cpu"):
            reference = [Tensor(a) for a in _inputs(op, sample, rng)]
            levels, arguments = levels_in(_caller(op, sample), reference, max_order, rng)
            expected = [as_tuple(levels[k](*arguments[k])) for k in range(max_order + 1)]
        for order in range(max_order + 1):
            moved = [Tensor(t.asnumpy().astype(np.float32)) if t.dtype is dt.float64 else
                     Tensor(t.asnumpy()) for t in arguments[order]]
            got = as_tuple(levels[order](*moved))
            for want, have in zip(expected[order], got):
                want, have = want.asnumpy().astype(np.float64), have.asnumpy().astype(np.float64)
                scale = FLOAT32_ATOL * max(1.0, float(np.max(np.abs(want), initial=0.0)))
                if not np.allclose(have, want, rtol=FLOAT32_RTOL, atol=scale):
                    if worst_order is None or order < worst_order:
                        worst_order = order
                        figures = (f"sample {index}, order {order}: largest difference from the "
                                   f"CPU's float64 result {np.max(np.abs(have - want)):.3g}")
    if worst_order is None:
        return CellResult(status="verified", verified_order=max_order,
                          detail="no float64 here: float32 results match the CPU's float64")
    claim_ok = worst_order > spec.max_order or worst_order in spec.expected_failures
    return CellResult(status="wrong", verified_order=max(worst_order - 1, 0), claim_ok=claim_ok,
                      detail=figures)


def _check_not_differentiable(op: OpDef, spec: OpSpec, seed: int,
                              mode: str = "reverse") -> CellResult:
    rng = np.random.default_rng(seed)
    sample = spec.samples[0]
    inputs = [Tensor(a) for a in _inputs(op, sample, rng)]
    call = _caller(op, sample)
    call(*inputs)  # the forward pass must run
    if not any(t.dtype.is_float for t in inputs):
        return CellResult(status="not differentiable", detail=spec.reason or "")
    declared = [r.reason for r in op.backward if isinstance(r, NotDifferentiable)]
    try:
        _derive_all(call, inputs, mode)
    except NotDifferentiableError:
        return CellResult(status="not differentiable", detail=spec.reason or (declared[0] if declared else ""))
    return CellResult(status="wrong", claim_ok=False,
                      detail="documented as not differentiable, but differentiating it did not "
                             "raise NotDifferentiableError")


def _check_zero(op: OpDef, spec: OpSpec, seed: int, mode: str = "reverse") -> CellResult:
    rng = np.random.default_rng(seed)
    for sample in spec.samples:
        inputs = [Tensor(a) for a in _inputs(op, sample, rng)]
        grads = _derive_all(_caller(op, sample), inputs, mode)
        if any(np.any(g.asnumpy() != 0) for g in grads):
            return CellResult(status="wrong", claim_ok=False,
                              detail="documented zero derivative is not zero")
    return CellResult(status="zero by definition", detail=spec.reason or "")


def node_counts(op: OpDef, spec: Optional[OpSpec], max_order: int, seed: int = 0) -> list[int]:
    """Nodes of the k-th derivative graph of the first sample after passes, k = 1..max_order."""
    from .differences import derivative_levels
    from ..core.staging import stage
    if spec is None or spec.derivative != "checked":
        return []
    rng = np.random.default_rng(seed)
    sample = spec.samples[0]
    try:
        with _quietly(), context.device_scope("cpu"):
            tensors = [Tensor(a) for a in _inputs(op, sample, rng)]
            levels, arguments = derivative_levels(_caller(op, sample), tensors, max_order, rng)
            return [len(stage(levels[k], arguments[k]).graph.nodes)
                    for k in range(1, max_order + 1)]
    except HogradError:
        return []


def _quietly():
    """Run checks with stdout captured: an op that prints (Print) must not write into a report
    going to stdout."""
    return contextlib.redirect_stdout(io.StringIO())
