"""Batching rules (``vmap``) of the ops outside the elementwise families.

The elementwise families get theirs from ``ops/families.py`` (``unary``, ``binary``,
``comparison``); reductions and ops along one axis are one helper call from
``core/batching.py`` each; only the structural ops — reshapes, indexing, joins, products —
need a rule of their own. Each rule is ``rule(inputs, dims, **attrs) -> (output, batch dim)``
and computes the whole batch with one call of an op: a batch axis is moved to the front and
the attributes are rewritten to skip it (or, for products, folded into a matrix dimension).

``BATCH_RULES`` maps op names to rules; ``with_batch_rules`` puts them into the op records,
as ``taylor_rules.py`` does for Taylor rules. Ops left out (dense linear algebra of one
matrix, calls of Cells) fall back to a loop with a warning.
"""
from __future__ import annotations

import numpy as np

from ..core.batching import (along_axis, batch_size, broadcasting, example_axis, example_rank,
                             loop, move_axis, pad_rank, reducing, to_front, vectorized)
from ..core.dispatch import apply
from ..core.errors import BatchingError
from ..core.indexing import whole
from ..core.opdef import OpDef
from ..core.tensor import Tensor
from .linalg import parse_equation


def _front(inputs, dims):
    """The only input, with its batch axis first."""
    return move_axis(inputs[0], dims[0], 0)


# ---- shapes ---------------------------------------------------------------------------------
def _example_shape(example: tuple, shape: tuple) -> tuple:
    """``shape`` with its -1 resolved for an example of shape ``example``."""
    if -1 not in shape:
        return tuple(shape)
    known = int(np.prod([s for s in shape if s != -1], dtype=np.int64))
    size = int(np.prod(example, dtype=np.int64))
    return tuple(size // known if s == -1 else s for s in shape)


def _reshape(inputs, dims, *, shape):
    (x,), (dim,) = inputs, dims
    example = x.shape[:dim] + x.shape[dim + 1:]
    target = _example_shape(example, shape)
    size = x.shape[dim]
    # the batch axis stays in place when the reshape leaves the axes before it alone (it then
    # reshapes within each example's trailing block) or those after it (the leading block):
    # the data keep their layout and no copy is made
    if tuple(example[:dim]) == target[:dim]:
        return apply("Reshape", (x,), {"shape": target[:dim] + (size,) + target[dim:]}), dim
    after = len(example) - dim
    if tuple(example[dim:]) == target[len(target) - after:]:
        cut = len(target) - after
        return apply("Reshape", (x,), {"shape": target[:cut] + (size,) + target[cut:]}), cut
    x = move_axis(x, dim, 0)
    return apply("Reshape", (x,), {"shape": (size,) + target}), 0


def _transpose(inputs, dims, *, perm):
    # the batch axis keeps its place; the examples' axes around it are permuted
    (x,), (dim,) = inputs, dims
    shifted = [p if p < dim else p + 1 for p in perm]
    return apply("Transpose", (x,), {"perm": tuple(shifted[:dim] + [dim] + shifted[dim:])}), dim


def _expand_dims(inputs, dims, *, axis):
    x = _front(inputs, dims)
    rank = x.ndim - 1
    if not -rank - 1 <= axis <= rank:
        raise BatchingError(f"ExpandDims: axis {axis} is out of range to insert into rank {rank}")
    return apply("ExpandDims", (x,), {"axis": axis % (rank + 1) + 1}), 0


def _broadcast_to(inputs, dims, *, shape):
    x = _front(inputs, dims)
    example = x.shape[1:]
    lead = len(shape) - len(example)
    target = tuple(example[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    return apply("BroadcastTo", (pad_rank(x, len(shape)),), {"shape": (x.shape[0],) + target}), 0


# ---- indexing -------------------------------------------------------------------------------
def _get_item(inputs, dims, *, index):
    x = _front(inputs, dims)
    return apply("GetItem", (x,), {"index": (whole(x.shape[0]),) + tuple(index)}), 0


def _get_item_adjoint(inputs, dims, *, index, shape):
    g = _front(inputs, dims)
    size = g.shape[0]
    return apply("GetItemAdjoint", (g,), {"index": (whole(size),) + tuple(index),
                                          "shape": (size,) + tuple(shape)}), 0


def _gather(inputs, dims, *, axis):
    (params, indices), (params_dim, indices_dim) = inputs, dims
    if indices_dim is None:
        params = move_axis(params, params_dim, 0)
        shifted = example_axis(axis, params.ndim - 1, "Gather") + 1
        return apply("Gather", (params, indices), {"axis": shifted}), 0
    if params_dim is None:
        # the batch of index arrays lands where the gathered axis was
        position = example_axis(axis, params.ndim, "Gather")
        indices = move_axis(indices, indices_dim, 0)
        return apply("Gather", (params, indices), {"axis": axis}), position
    return _gather_per_example(move_axis(params, params_dim, 0),
                               move_axis(indices, indices_dim, 0), axis)


def _gather_per_example(params, indices, axis: int):
    """Each example's indices into that example's params, as one Gather: the batch axis and
    the gathered axis are merged into one axis of ``B·n`` rows, and example b's indices are
    offset by ``b·n``."""
    size = params.shape[0]
    position = example_axis(axis, params.ndim - 1, "Gather")
    rows = params.shape[position + 1]
    merged = apply("Reshape", (move_axis(params, position + 1, 1),),
                   {"shape": (size * rows,) + tuple(s for i, s in enumerate(params.shape)
                                                   if i not in (0, position + 1))})
    offsets = Tensor(np.arange(size).reshape((size,) + (1,) * (indices.ndim - 1)) * rows,
                     dtype=indices.dtype)
    gathered = apply("Gather", (merged, indices + offsets), {"axis": 0})
    # (B, *index shape, *axes before, *axes after) -> (B, *axes before, *index shape, *after)
    index_axes = list(range(1, indices.ndim))
    before = list(range(indices.ndim, indices.ndim + position))
    after = list(range(indices.ndim + position, gathered.ndim))
    return apply("Transpose", (gathered,), {"perm": tuple([0] + before + index_axes + after)}), 0


def _gather_adjoint(inputs, dims, *, axis, shape):
    (g, indices), (g_dim, indices_dim) = inputs, dims
    position = example_axis(axis, len(shape), "GatherAdjoint")
    if indices_dim is None:
        g = move_axis(g, g_dim, 0)
        return apply("GatherAdjoint", (g, indices), {"axis": position + 1,
                                                     "shape": (g.shape[0],) + tuple(shape)}), 0
    # each example's indices scatter into that example's rows: as in _gather_per_example, the
    # batch and the scattered axis merge into B·n rows and example b's indices move by b·n
    size = indices.shape[indices_dim]
    indices = move_axis(indices, indices_dim, 0)
    g = to_front(g, g_dim, size)
    index_rank = indices.ndim - 1
    # g's examples are (*axes before, *index shape, *axes after): the index axes go first
    index_axes = list(range(1 + position, 1 + position + index_rank))
    rest = [i for i in range(1, g.ndim) if i not in index_axes]
    g = apply("Transpose", (g,), {"perm": tuple([0] + index_axes + rest)})
    rows = shape[position]
    others = tuple(s for i, s in enumerate(shape) if i != position)
    offsets = Tensor(np.arange(size).reshape((size,) + (1,) * index_rank) * rows,
                     dtype=indices.dtype)
    scattered = apply("GatherAdjoint", (g, indices + offsets),
                      {"axis": 0, "shape": (size * rows,) + others})
    split = apply("Reshape", (scattered,), {"shape": (size, rows) + others})
    return move_axis(split, 1, position + 1), 0


def _concat(inputs, dims, *, axis):
    size = batch_size(inputs, dims)
    xs = [to_front(x, d, size) for x, d in zip(inputs, dims)]
    shifted = example_axis(axis, xs[0].ndim - 1, "Concat") + 1
    return apply("Concat", xs, {"axis": shifted}), 0


# ---- products -------------------------------------------------------------------------------
def _merge_two_axes(x, first: int):
    """``x`` with its axes ``first`` and ``first + 1`` merged into one."""
    shape = tuple(x.shape)
    return apply("Reshape", (x,), {"shape": shape[:first] + (shape[first] * shape[first + 1],)
                                   + shape[first + 2:]})


def _matmul(inputs, dims, *, transpose_a, transpose_b):
    """One batched operand: its batch axis merged with the examples' rows of op(a) — or
    columns of op(b) — into one matrix, so the batch is a single MatMul with the other
    operand. The batch axis may sit on either side of the axis it merges with, so an operand
    that has it there already is not copied; the product's batch axis lands on that side."""
    (a, b), (a_dim, b_dim) = inputs, dims
    flags = {"transpose_a": transpose_a, "transpose_b": transpose_b}
    if a_dim is not None and b_dim is not None:
        return apply("BatchMatMul", (move_axis(a, a_dim, 0), move_axis(b, b_dim, 0)), flags), 0
    if b_dim is None:
        # op(a) is (rows, k): with a = (n, k) the rows are axis 0, with transpose_a axis 1
        merged_at = 1 if transpose_a else 0
        x, dim, position = a, a_dim, 0
    else:
        # op(b) is (k, cols): with b = (k, m) the columns are axis 1, with transpose_b axis 0
        merged_at = 0 if transpose_b else 1
        x, dim, position = b, b_dim, 1
    size = x.shape[dim]
    if dim not in (merged_at, merged_at + 1):
        x, dim = move_axis(x, dim, merged_at), merged_at
    example_size = x.shape[merged_at + 1] if dim == merged_at else x.shape[merged_at]
    operands = [a, b]
    operands[position] = _merge_two_axes(x, merged_at)
    product = apply("MatMul", operands, flags)
    # the product's merged axis (rows: 0, columns: 1) splits back into batch and example
    block = (size, example_size) if dim == merged_at else (example_size, size)
    shape = block + (product.shape[1],) if position == 0 else (product.shape[0],) + block
    return apply("Reshape", (product,), {"shape": shape}), position + (dim != merged_at)


def _batch_matmul(inputs, dims, *, transpose_a, transpose_b):
    rank = max(example_rank(x, d) for x, d in zip(inputs, dims))
    lined_up = [x if d is None else pad_rank(move_axis(x, d, 0), rank)
                for x, d in zip(inputs, dims)]
    return apply("BatchMatMul", lined_up, {"transpose_a": transpose_a,
                                           "transpose_b": transpose_b}), 0


def _einsum(inputs, dims, *, equation):
    subscripts, output = parse_equation(equation, len(inputs))
    letter = next(c for c in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA"
                  if c not in equation)
    operands = [x if d is None else move_axis(x, d, 0) for x, d in zip(inputs, dims)]
    named = [s if d is None else letter + s for s, d in zip(subscripts, dims)]
    return apply("Einsum", operands, {"equation": ",".join(named) + "->" + letter + output}), 0


def _arg_extremum(op: str):
    """Argmax/Argmin: along an axis shifted past the batch axis; over all axes of an example
    (axis None) as along the one axis of the flattened example."""
    along = along_axis(op)

    def batch(inputs, dims, *, axis, keep_dims, output_type):
        if axis is not None or keep_dims:
            return along(inputs, dims, axis=axis, keep_dims=keep_dims, output_type=output_type)
        x = _front(inputs, dims)
        flat = apply("Reshape", (x,), {"shape": (x.shape[0], -1)})
        return apply(op, (flat,), {"axis": 1, "keep_dims": False, "output_type": output_type}), 0

    return batch


# ---- effects ----------------------------------------------------------------------------------
def _assign_to(inputs, dims, *, target):
    raise BatchingError(f"vmap: a batched value is assigned to Parameter {target!r}; one "
                        f"Parameter cannot hold a value per batch element. Return the values "
                        f"from the function instead, or reduce over the batch before assigning")


BATCH_RULES = {
    **{name: vectorized(name) for name in ("Cast", "StopGradient", "ZerosLike", "OnesLike",
                                           "Elu")},
    "Select": broadcasting("Select"),
    **{name: reducing(name) for name in ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin",
                                         "LogSumExp")},
    **{name: along_axis(name) for name in ("Softmax", "LogSoftmax", "CumSum")},
    "Argmax": _arg_extremum("Argmax"), "Argmin": _arg_extremum("Argmin"),
    "Reshape": _reshape, "Transpose": _transpose, "ExpandDims": _expand_dims,
    "BroadcastTo": _broadcast_to, "GetItem": _get_item, "GetItemAdjoint": _get_item_adjoint,
    "Gather": _gather, "GatherAdjoint": _gather_adjoint, "Concat": _concat,
    "MatMul": _matmul, "BatchMatMul": _batch_matmul, "Einsum": _einsum,
    "AssignTo": _assign_to,
}


def with_batch_rules(ops) -> list[OpDef]:
    """The op records with their batching rules from ``BATCH_RULES`` filled in."""
    return [op.model_copy(update={"batch": BATCH_RULES[op.name]})
            if op.name in BATCH_RULES and op.batch is None else op for op in ops]
