"""The batching transformer behind ``vmap``: a graph traced on one example, replayed on a batch.

``push_batched(graph, inputs, dims)`` replays ``graph`` node by node, as ``core/forward.py``
replays it for tangents, but each value carries a *batch dimension* beside it: the position of
its batch axis, or ``None`` for a value that is the same for every example (a weight, a
constant, anything no batched input reaches). A node none of whose inputs is batched is applied
as it is; any other calls its op's batching rule ``batch(inputs, dims, **attrs) -> (out,
out_dim)`` (the ``batch`` field of ``OpDef``), which computes the whole batch with one call of
an op — a Python loop over examples is never the rule, only the fallback (with a warning naming
the op) for an op that has none. Rules are written with hograd ops, so the batched graph is a
graph of registered ops: it differentiates again, and vmap of grad, grad of vmap and vmap of
vmap all work by nesting.

As in JAX's ``batching.py``, most rules come from three helpers: ``vectorized`` (elementwise
ops of one input: the batch axis stays where it is), ``broadcasting`` (elementwise ops of
several inputs: batch axes to the front, ranks padded so that broadcasting lines the examples
up) and ``reducing`` (an axis attribute shifted past the batch axis). Structural ops (reshapes,
indexing, products) have their own, in ``ops/batch_rules.py``.

A ``Guard`` (an ``if`` on a value, recorded while tracing one example) is the transformer's own
business: one decision cannot stand for examples that decide differently, so a batched guard
checks that every example agrees with the traced one and raises ``BatchingError`` (suggesting
``ops.Select``) when one does not, rather than return a wrong answer.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .dispatch import apply
from .errors import BatchingError
from .indexing import Take, normalize_axes, whole
from .ir import ConstValue, Graph, Var
from .registry import registry
from .roles import role
from .tracer_ops import same_value

# batch(inputs, dims, **attrs) -> (output, its batch dim); ``dims`` holds one entry per input,
# None where the input is the same for every example (at least one is not None)
BatchRule = Callable[..., tuple[Any, Optional[int]]]


class BatchingFallbackWarning(UserWarning):
    """An op without a batching rule ran once per batch element under vmap."""


# ---- moving batch axes (hograd ops, so that batched graphs differentiate) ----------------------
def move_axis(x, source: int, destination: int):
    """``x`` with its axis ``source`` moved to ``destination`` (numpy's moveaxis)."""
    if source == destination:
        return x
    perm = [i for i in range(x.ndim) if i != source]
    perm.insert(destination, source)
    return apply(role("transpose"), (x,), {"perm": tuple(perm)})


def to_front(x, dim: Optional[int], size: int):
    """``x`` with its batch axis first; a value without one is broadcast to ``size`` examples."""
    if dim is not None:
        return move_axis(x, dim, 0)
    expanded = apply(role("expand_dims"), (x,), {"axis": 0})
    return apply(role("broadcast_to"), (expanded,), {"shape": (size,) + tuple(x.shape)})


def pad_rank(x, rank: int):
    """A front-batched ``x`` whose examples have rank ``rank``: axes of length 1 are inserted
    after the batch axis, so that broadcasting lines up examples, not trailing axes."""
    missing = rank - (x.ndim - 1)
    if missing <= 0:
        return x
    return apply(role("reshape"), (x,), {"shape": (x.shape[0],) + (1,) * missing + tuple(x.shape[1:])})


def example_rank(x, dim: Optional[int]) -> int:
    """The rank of one example of ``x``."""
    return x.ndim - (dim is not None)


def batch_size(inputs: Sequence[Any], dims: Sequence[Optional[int]]) -> int:
    """The number of examples: the length of any input's batch axis."""
    return next(x.shape[d] for x, d in zip(inputs, dims) if d is not None)


def example_axis(axis: int, rank: int, op: str) -> int:
    """An axis attribute of one example as a non-negative position (0 for a scalar)."""
    if not -max(rank, 1) <= axis < max(rank, 1):
        raise BatchingError(f"{op}: axis {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0


# ---- rule helpers: most ops are one of these ------------------------------------------------
def vectorized(op: str) -> BatchRule:
    """Elementwise ops of one input (and ops that act on each element alone): the op applied
    to the batch as it is, the batch axis where it was."""

    def batch(inputs, dims, **attrs):
        return apply(op, inputs, attrs, validated=True), dims[0]

    return batch


def broadcasting(op: str) -> BatchRule:
    """Elementwise ops of several broadcasting inputs (Add, comparisons, Select).

    When every batched input has its batch axis at the same place and examples of the
    output's rank, the unbatched inputs get an axis of length 1 there and the op runs on the
    data as it lies (no transposes: the batch axis stays where it is, as it does for a
    vectorized op). Otherwise batched inputs get their batch axis first and their examples
    padded to a common rank, so that one call broadcasts example against example."""

    def batch(inputs, dims, **attrs):
        rank = max(example_rank(x, d) for x, d in zip(inputs, dims))
        # where each batch axis lands once its examples are left-padded to the common rank
        padded_dims = {d + rank - (x.ndim - 1) for x, d in zip(inputs, dims) if d is not None}
        if len(padded_dims) == 1:
            dim = padded_dims.pop()
            in_place = [_unit_axis_at(x, dim, rank) if d is None else
                        _left_padded(x, rank + 1) for x, d in zip(inputs, dims)]
            return apply(op, in_place, attrs, validated=True), dim
        lined_up = [x if d is None else pad_rank(move_axis(x, d, 0), rank)
                    for x, d in zip(inputs, dims)]
        return apply(op, lined_up, attrs, validated=True), 0

    return batch


def _left_padded(x, rank: int):
    """``x`` with leading axes of length 1 up to ``rank`` (a view: the data do not move)."""
    if x.ndim >= rank:
        return x
    return apply(role("reshape"), (x,), {"shape": (1,) * (rank - x.ndim) + tuple(x.shape)})


def _unit_axis_at(x, dim: int, rank: int):
    """An unbatched ``x`` shaped to broadcast against examples of ``rank`` batched at ``dim``:
    left-padded to ``rank`` with ones, then an axis of length 1 inserted at ``dim``."""
    shape = (1,) * (rank - x.ndim) + tuple(x.shape)
    if x.ndim == 0 or all(size == 1 for size in shape[:dim]):
        return x  # the batch axis falls in the leading ones: broadcasting adds it
    shape = shape[:dim] + (1,) + shape[dim:]
    return apply(role("reshape"), (x,), {"shape": shape})


def reducing(op: str) -> BatchRule:
    """Reductions with ``axis`` (None for all) and ``keep_dims``: the batch axis goes first and
    the reduced axes shift past it, so ``axis=None`` reduces each example, not the batch."""

    def batch(inputs, dims, *, axis, keep_dims, **attrs):
        x = move_axis(inputs[0], dims[0], 0)
        axes = normalize_axes(axis, x.ndim - 1)
        if not axes:
            # an example is a scalar: reducing "all" of it reduces nothing, but an empty axis
            # tuple would mean all axes, the batch included; reduce a unit axis instead
            x = apply(role("reshape"), (x,), {"shape": (x.shape[0], 1)})
            axes, keep_dims = (0,), False
        shifted = tuple(a + 1 for a in axes)
        return apply(op, (x,), {**attrs, "axis": shifted, "keep_dims": keep_dims},
                     validated=True), 0

    return batch


def along_axis(op: str) -> BatchRule:
    """Ops acting along one ``axis`` of one input (Softmax, CumSum, Argmax): the axis shifted
    past a batch axis in front."""

    def batch(inputs, dims, *, axis, **attrs):
        x = move_axis(inputs[0], dims[0], 0)
        if axis is None:
            return loop(op, inputs, dims, attrs={**attrs, "axis": axis}, warn=True)
        shifted = example_axis(axis, x.ndim - 1, op) + 1
        return apply(op, (x,), {**attrs, "axis": shifted}, validated=True), 0

    return batch


# ---- the fallback: a loop of unbatched calls ------------------------------------------------
def take_example(x, dim: int, position: int):
    """Example ``position`` of ``x`` along its batch axis ``dim``."""
    index = tuple(Take(position) if axis == dim else whole(size)
                  for axis, size in enumerate(x.shape))
    return apply(role("get_item"), (x,), {"index": index})


def loop(op: str, inputs: Sequence[Any], dims: Sequence[Optional[int]], attrs: dict,
         warn: bool = True) -> tuple[Any, int]:
    """The batch as a loop of unbatched calls of ``op``, stacked: correct for any op, one call
    per example. Used for ops without a batching rule, with a warning that names the op."""
    if warn:
        warnings.warn(f"vmap: op {op} has no batching rule, so it runs once per batch element "
                      f"(a Python loop); give its OpDef a `batch` rule (core/batching.py has "
                      f"helpers) to batch it in one call", BatchingFallbackWarning, stacklevel=3)
    opdef = registry().op(op)
    outputs = [apply(opdef, [x if d is None else take_example(x, d, position)
                             for x, d in zip(inputs, dims)], attrs, validated=True)
               for position in range(batch_size(inputs, dims))]
    return apply(role("stack"), outputs, {"axis": 0}), 0


# ---- the transformer --------------------------------------------------------------------------
def batch_apply(opdef, inputs: Sequence[Any], dims: Sequence[Optional[int]], attrs: dict
                ) -> tuple[Any, Optional[int]]:
    """One op on inputs with batch dims: as it is when none is batched, else its rule."""
    if all(d is None for d in dims):
        return apply(opdef, inputs, attrs, validated=True), None
    if opdef.name == "Guard":
        return _batched_guard(inputs[0], dims[0], attrs["expected"])
    if opdef.batch is None:
        return loop(opdef.name, inputs, dims, attrs)
    return opdef.batch(list(inputs), list(dims), **attrs)


def push_batched(graph: Graph, inputs: Sequence[Any], dims: Sequence[Optional[int]]
                 ) -> tuple[dict[Var, Any], dict[Var, Optional[int]]]:
    """Replay ``graph`` on batched ``inputs`` (batch dims ``dims``, None for unbatched ones).

    Returns the replayed value and the batch dim of every variable. Each rule's result is
    checked against the node's abstract value, so a rule that gets a shape wrong is reported
    by name instead of giving a wrong answer further on."""
    if len(inputs) != len(graph.inputs) or len(dims) != len(graph.inputs):
        raise ValueError(f"graph takes {len(graph.inputs)} inputs, got {len(inputs)} inputs "
                         f"and {len(dims)} batch dims")
    reg = registry()
    env: dict[Var, Any] = dict(zip(graph.inputs, inputs))
    batch_dims: dict[Var, Optional[int]] = dict(zip(graph.inputs, dims))
    for node in graph.nodes:
        opdef = reg.op(node.op)
        arguments = [env[v] for v in node.inputs]
        argument_dims = [batch_dims[v] for v in node.inputs]
        out, dim = batch_apply(opdef, arguments, argument_dims, node.attr_dict)
        _check_rule_result(opdef.name, out, dim, node.out, arguments, argument_dims)
        env[node.out], batch_dims[node.out] = out, dim
    return env, batch_dims


def _check_rule_result(op: str, out, dim: Optional[int], var: Var, inputs, dims) -> None:
    shape = tuple(out.shape)
    example = shape if dim is None else shape[:dim] + shape[dim + 1:]
    size = None if dim is None else shape[dim]
    expected_size = batch_size(inputs, dims) if any(d is not None for d in dims) else None
    wrong_size = size is not None and size != expected_size
    if example != var.aval.shape or out.dtype is not var.aval.dtype or wrong_size:
        raise BatchingError(
            f"the batching rule of {op} returned {out.dtype.name}{list(shape)} with batch dim "
            f"{dim}, but one example should be {var.aval} and the batch {expected_size}")


def _batched_guard(x, dim: int, expected: ConstValue):
    """A branch recorded on one example, met by a batch: every example must take it."""
    front = move_axis(x, dim, 0)
    if front._data is not None:
        host = np.asarray(front._device.to_host(front._data))
        for position in range(host.shape[0]):
            if not same_value(host[position], expected.array):
                raise BatchingError(
                    f"vmap: a branch on a Tensor's value (an if/while on it, bool(), float(), "
                    f"int() or asnumpy()) decides differently for batch element {position} than "
                    f"for element 0 (saw {host[position]!r}, traced with "
                    f"{expected.array!r}); one traced path cannot serve both. Compute both "
                    f"branches and choose per element with ops.Select(condition, x, y), or "
                    f"call the function per element")
    every = ConstValue(np.broadcast_to(expected.array, tuple(front.shape)))
    # the guard stays in the graph: a compiled run whose examples disagree retraces, and the
    # check above then names the element
    return apply("Guard", (front,), {"expected": every}, validated=True), 0
