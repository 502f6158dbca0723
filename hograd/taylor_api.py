"""Taylor mode for users: ``jet`` and ``derivative`` (MindSpore 2.x) and ``laplacian`` (beyond).

All three trace the function once, push power series through its graph with the ops' Taylor
rules (``core/taylor.py``) and run the result:

- at top level in GRAPH_MODE the series graph is built symbolically, simplified, compiled and
  cached per input signature, like a gradient function;
- in PYNATIVE_MODE it runs op by op;
- inside an enclosing trace (a Cell's ``construct``, a function under ``GradOperation``) its
  ops are recorded into that trace, so the jet is differentiated again like any other ops
  (a Laplacian inside a PINN loss trains with reverse mode w.r.t. the weights).

**Convention.** ``series[k]`` holds the (k+1)-th *derivative* along the input path, not a Taylor
coefficient ``x⁽ᵏ⁺¹⁾/(k+1)!`` — MindSpore's convention, checked against its documented example
(``exp(sin x)`` at 1: out_series ``1.2533808, -1.2748207, -4.0515366`` are the 1st, 2nd and 3rd
derivatives). The input series is the path ``x(t)`` with ``x⁽ᵏ⁾(0) = series[k-1]``; the output is
``d^k/dt^k fn(x(t))`` at ``t = 0`` (Faà di Bruno), so feeding ``series = [v, 0, 0, …]`` gives
directional derivatives of every order along ``v``.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .core.cache import FunctionCaches
from .core.coefficients import Directions, fit, scale, unit
from .core.compiled import run_executable
from .core.dispatch import apply
from .core.errors import HogradError
from .core.executor import compile_graph
from .core.passes import simplify
from .core.pytree import flatten, signature, unflatten
from .core.series import Series
from .core.taylor import propagate
from .core.trace import ClosedGraph, Trace, current_trace

_CACHES = FunctionCaches()


class TaylorArgumentError(HogradError, TypeError):
    """``jet``/``derivative``/``laplacian`` were called with arguments that do not fit."""


def jet(fn: Callable, primals: Any, series: Any) -> tuple[Any, Any]:
    """The output and its first n derivatives along the input path given by ``series``.

    ``primals``: a Tensor or a tuple of Tensors (fn's inputs); ``series``: the same structure,
    each of shape ``(n, *primal.shape)`` holding the 1st … n-th derivatives of the input path.
    Returns ``(out_primals, out_series)``: ``fn(*primals)`` and, per output, a tensor of shape
    ``(n, *out.shape)`` with its 1st … n-th derivatives.

    >>> x = Tensor([0.3]); series = Tensor([[1.0], [0.0], [0.0]])
    >>> out, derivatives = jet(ops.sin, x, series)         # sin, cos, -sin, -cos at 0.3
    """
    primal_list, single = _tensors(primals, "primals")
    series_list, _ = _tensors(series, "series")
    if len(series_list) != len(primal_list):
        raise TaylorArgumentError(f"jet: {len(primal_list)} primal(s) but {len(series_list)} "
                                  f"series; give one series per primal")
    series_list = [_floating(s) for s in series_list]
    for index, (p, s) in enumerate(zip(primal_list, series_list)):
        if s.ndim != p.ndim + 1 or tuple(s.shape[1:]) != tuple(p.shape):
            raise TaylorArgumentError(
                f"jet: series[{index}] has shape {tuple(s.shape)}; it must be (order, "
                f"*primal.shape) = (n, {', '.join(map(str, p.shape))}) for primal {index}")
    order = series_list[0].shape[0]
    if any(s.shape[0] != order for s in series_list) or order < 1:
        raise TaylorArgumentError(f"jet: every series needs the same order ≥ 1, got "
                                  f"{[s.shape[0] for s in series_list]}")

    def seeds(inputs):
        primal_inputs, series_inputs = inputs[:len(primal_list)], inputs[len(primal_list):]
        return [Series.of_coefficients(p, [s[k] * (1.0 / math.factorial(k + 1))
                                           for k in range(order)])
                for p, s in zip(primal_inputs, series_inputs)]

    def read(out_series):
        return [_stacked_derivatives(s, order) for s in out_series]

    out_primals, out_derivatives = _run(fn, primal_list, series_list, seeds, read,
                                        ("jet", order))
    return out_primals, out_derivatives


def derivative(fn: Callable, primals: Any, order: int) -> tuple[Any, Any]:
    """The output and its ``order``-th derivative, every input moving with unit speed.

    As MindSpore's ``ops.derivative``: the input series is 1 at first order and 0 above, so for
    one input this is ``dⁿfn/dxⁿ`` (elementwise), and for several the n-th derivative along
    ``(1, 1, …)``. Returns ``(out_primals, out_series)``.

    >>> derivative(lambda x: ops.tanh(2 * ops.tanh(x) + ops.sin(x)), Tensor(0.3), 10)
    """
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise TaylorArgumentError(f"derivative: order must be an int ≥ 1, got {order!r}")
    primal_list, _ = _tensors(primals, "primals")

    def seeds(inputs):
        # the higher input coefficients are symbolic zeros: no node is made for them
        return [Series.of_coefficients(p, [unit(apply("OnesLike", (p,)))]) for p in inputs]

    def read(out_series):
        return [_nth_derivative(s, order) for s in out_series]

    return _run(fn, primal_list, [], seeds, read, ("derivative", order))


def laplacian(fn: Callable, grad_position: int = 0) -> Callable:
    """A function computing the Laplacian of ``fn`` w.r.t. its input ``grad_position``.

    The input is a batch of points along its last axis (shape ``(..., d)``); each point's
    outputs must depend on that point only (a network applied row by row). The result has the
    output's shape: ``Σᵢ ∂²fn/∂xᵢ²`` per point. It is computed in one forward pass of collapsed
    Taylor mode (value, gradient along each of the d directions, and the Laplacian summed as it
    goes) — no nested reverse pass — and, being ops, it differentiates w.r.t. parameters.

    >>> lap = laplacian(net)            # inside a Cell: loss = ops.reduce_mean(lap(x) ** 2)
    """
    if not callable(fn):
        raise TaylorArgumentError(f"laplacian: expected a function or Cell, got "
                                  f"{type(fn).__name__}")

    def laplacian_of(*args):
        primal_list, _ = _tensors(tuple(args), "inputs")
        if not 0 <= grad_position < len(primal_list):
            raise TaylorArgumentError(f"laplacian: grad_position {grad_position} is out of "
                                      f"range for {len(primal_list)} input(s)")
        point = primal_list[grad_position]
        if point.ndim < 1 or not point.dtype.is_float:
            raise TaylorArgumentError(
                f"laplacian: input {grad_position} must be a float tensor of points (..., d), "
                f"got {point.dtype.name}{list(point.shape)}")

        def seeds(inputs):
            from .core.tensor import Tensor
            x = inputs[grad_position]
            size = x.shape[-1]
            # one row per direction, the same for every point: the coefficients it seeds stay
            # rows until an op mixes points (see coefficients.fit), so the first layer's
            # per-direction work is a row, not a batch
            basis = np.eye(size, dtype=x.dtype.numpy)
            row = (1,) * (x.ndim - 1) + (size,)
            directions = Directions(Tensor(basis[i].reshape(row)) for i in range(size))
            return [Series.of_coefficients(x, [directions]) if i == grad_position
                    else Series.of_constant(p) for i, p in enumerate(inputs)]

        def read(out_series):
            # Taylor coefficient 2 summed over directions is half the Laplacian
            return [_times(s[2], 2.0, s.primal) for s in out_series]

        return _run(fn, primal_list, [], seeds, read, ("laplacian", grad_position),
                    primals_wanted=False)[1]

    laplacian_of.__name__ = f"laplacian of {getattr(fn, '__name__', type(fn).__name__)}"
    return laplacian_of


# ---- running ------------------------------------------------------------------------------------
def _run(fn, primals: list, extras: list, seeds, read, kind,
         primals_wanted: bool = True) -> tuple[Any, Any]:
    """Trace ``fn`` on ``primals``, propagate the series ``seeds`` gives, ``read`` the results.

    ``seeds(inputs)`` makes the input series from ``primals + extras`` (as tensors of the
    current trace); ``read(output_series)`` gives the tensors to return beside the primals.
    Without ``primals_wanted`` a compiled run leaves the outputs' values out (None)."""
    from .context import GRAPH_MODE, current_mode

    def build(inputs, structure_box):
        forward, out_structure = _forward(fn, primals)
        structure_box.append(out_structure)
        given = seeds(inputs)
        constants = [Series.of_constant(t) for t in forward.captured]
        outputs = propagate(forward.graph, given + constants)
        return [s.primal for s in outputs] + read(outputs)

    def build_read_only(inputs, structure_box):
        results = build(inputs, structure_box)
        return results[len(results) // 2:]

    tensors = primals + extras
    if current_trace() is not None or current_mode() != GRAPH_MODE:
        box: list = []
        results = build(tensors, box)
        return _package(results, box[0])
    device = tensors[0]._device
    key = (kind, signature(tensors), device.name)

    def compiled():
        box: list = []
        with Trace(symbolic=True) as builder:
            inner = [builder.new_input(t.aval, None, t._device) for t in tensors]
            closed: ClosedGraph = builder.finish(
                (build if primals_wanted else build_read_only)(inner, box))
        graph = simplify(closed.graph, collect=False)
        return compile_graph(graph, device), closed.captured, graph.outputs, box[0]

    def run(variant):
        from .core.tensor import Tensor
        executable, captured, out_vars, out_structure = variant
        arrays = run_executable(executable, [t._data for t in tensors] +
                                [t._data for t in captured])
        results = [Tensor._traced(a, v.aval, device, None, None) for a, v in zip(arrays, out_vars)]
        if not primals_wanted:
            return None, unflatten(out_structure, results)
        return _package(results, out_structure)

    return _CACHES.for_function(fn, ()).call(key, run, compiled)


def taylor_graph(fn: Callable, primals: Any, order: int):
    """The simplified graph ``derivative(fn, primals, order)`` runs (to count its nodes)."""
    primal_list, _ = _tensors(primals, "primals")
    with Trace(symbolic=True) as builder:
        inner = [builder.new_input(t.aval, None, t._device) for t in primal_list]
        forward, _ = _forward(fn, primal_list)
        seeds = [Series.of_coefficients(p, [unit(apply("OnesLike", (p,)))]) for p in inner]
        outputs = propagate(forward.graph,
                            seeds + [Series.of_constant(t) for t in forward.captured])
        closed = builder.finish([s.primal for s in outputs] +
                                [_nth_derivative(s, order) for s in outputs])
    return simplify(closed.graph, collect=False)


def _forward(fn, primals: list) -> tuple[ClosedGraph, Any]:
    """fn traced on ``primals`` (concretely, so branches on values are recorded as guards).

    The series flow through every input, so reading one as a Python number is refused, as
    in every other transform."""
    with Trace() as trace:
        inner = [trace.new_input(t._aval, t._value, t._device, differentiated=True)
                 for t in primals]
        leaves, structure = flatten(fn(*inner))
        if not leaves:
            raise TaylorArgumentError("Taylor mode: the function returned no Tensor")
        return trace.finish(leaves), structure


def _package(results: list, out_structure) -> tuple[Any, Any]:
    half = len(results) // 2
    return unflatten(out_structure, results[:half]), unflatten(out_structure, results[half:])


def _times(coefficient, factor: float, like):
    if coefficient is None:
        return apply("ZerosLike", (like,))
    return fit(scale(coefficient, factor), like.aval)


def _nth_derivative(series: Series, order: int):
    return _times(series[order], math.factorial(order), series.primal)


def _stacked_derivatives(series: Series, order: int):
    return apply("Stack", [_times(series[k], math.factorial(k), series.primal)
                           for k in range(1, order + 1)], {"axis": 0})


def _tensors(value: Any, what: str) -> tuple[list, bool]:
    from .core.tensor import Tensor
    single = isinstance(value, Tensor)
    items = [value] if single else list(value) if isinstance(value, (tuple, list)) else None
    if not items or not all(isinstance(t, Tensor) for t in items):
        raise TaylorArgumentError(f"{what} must be a Tensor or a tuple of Tensors, got "
                                  f"{type(value).__name__}")
    return [_floating(t) for t in items], single


def _floating(tensor):
    # as MindSpore: integer inputs are computed in float32
    if tensor.dtype.is_float:
        return tensor
    from . import dtype as dt
    return apply("Cast", (tensor,), {"dtype": dt.float32})
