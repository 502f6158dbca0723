"""The building blocks of algebraic rewrites, from which each op declares its own in its record
(``OpDef(rewrites=...)``); the simplifier (core/passes.py) applies them to every derived graph.

A rewrite ``rule(m, node)`` sees a node whose inputs are already simplified, through ``m``:
``m.fill(v)`` is the scalar a float variable is filled with (a Fill node, or a Constant whose
elements are all equal) or None,
``m.constant(v)`` the array of a Constant node or None, ``m.op(v)`` the node that defined it.
It answers with an existing variable to use instead, a replacement ``(op, inputs, attrs)`` —
whose inputs may themselves be replacements, for the few new nodes it needs — or None. A rule
only returns a variable of the node's exact shape and dtype (the simplifier refuses a
replacement of any other), and each computes exactly what the node did: a filled or constant
value computed ahead, an identity removed, a product of one term per element as a
multiplication.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..core.ir import ConstValue, Node, Var
from ..core.roles import role


def _filled(node: Node, value: float) -> tuple:
    aval = node.out.aval
    return (role("fill").name, (), (("dtype", aval.dtype), ("shape", aval.shape),
                                    ("value", float(value))))


def _scalar(node: Node, value: float) -> tuple:
    """A factor that broadcasts: a Constant of shape () in the node's dtype, as a traced Python
    scalar is (folded into the compiled graph's slots, not filled on every run)."""
    return _constant_node(np.asarray(value, dtype=node.out.aval.dtype.numpy))


def _keep(var: Var, node: Node):
    """``var`` in place of ``node``, if it has the node's shape and dtype."""
    return var if var.aval == node.out.aval else None


def _negated(var: Var, node: Node):
    return (role("negate").name, (var,), ()) if var.aval == node.out.aval else None


def fold(combine: Callable[[float, float], float], *, unless_second: float | None = None):
    """c₁ ∘ c₂ → c: both inputs filled (not when the second is ``unless_second``: x/0)."""
    def rule(m, node):
        a, b = m.fill(node.inputs[0]), m.fill(node.inputs[1])
        if a is None or b is None or b == unless_second:
            return None
        return _filled(node, combine(a, b))
    return rule


def zero_when_either_is_zero(m, node):
    """0·x → 0 (a symbolic zero, as the transformers treat a missing cotangent)."""
    return _filled(node, 0.0) if 0 in (m.fill(node.inputs[0]), m.fill(node.inputs[1])) else None


def other_when(position: int, value: float):
    """x ∘ c → x when input ``position`` is filled with ``value`` (1·x, x+0, x/1, …)."""
    other = 1 - position
    return lambda m, node: (_keep(node.inputs[other], node)
                            if m.fill(node.inputs[position]) == value else None)


def negated_other_when(position: int, value: float):
    """x ∘ c → -x when input ``position`` is filled with ``value`` (-1·x, 0-x)."""
    other = 1 - position
    return lambda m, node: (_negated(node.inputs[other], node)
                            if m.fill(node.inputs[position]) == value else None)


def negated_fill(m, node):
    """-c → c'."""
    value = m.fill(node.inputs[0])
    return _filled(node, -value) if value is not None else None


def double_negation(m, node):
    """--x → x."""
    inner = m.op(node.inputs[0])
    return inner.inputs[0] if inner is not None and inner.op == node.op else None


def moved_fill(m, node):
    """A filled value reshaped, broadcast, cast or averaged is still filled with it."""
    value = m.fill(node.inputs[0])
    return _filled(node, value) if value is not None and node.out.aval.dtype.is_float else None


def filled_like(value: float):
    """ZerosLike(x) → a Fill of 0, OnesLike(x) → of 1: the same elements in x's shape and dtype,
    without reading x (which dead-code elimination may then drop)."""
    def rule(m, node):
        aval = node.out.aval
        typed = {"float": float, "int": int, "bool": bool}[aval.dtype.category](value)
        return (role("fill").name, (), (("dtype", aval.dtype), ("shape", aval.shape),
                                        ("value", typed)))
    return rule


def summed_fill(m, node):
    """A filled value summed over axes is filled with it times the count summed."""
    value = m.fill(node.inputs[0])
    if value is None or not node.out.aval.dtype.is_float:
        return None
    return _filled(node, value * (node.inputs[0].aval.size // max(node.out.aval.size, 1)))


# ---- constants --------------------------------------------------------------------------------
def _constant_node(array) -> tuple:
    return ("Constant", (), (("value", ConstValue(array)),))


def reshaped_constant(m, node):
    """A constant reshaped (or given a unit axis) is a constant: the same elements, row-major,
    in the node's shape."""
    array = m.constant(node.inputs[0])
    return _constant_node(array.reshape(node.out.aval.shape)) if array is not None else None


def transposed_constant(m, node):
    """A constant with its axes permuted is a constant (so a basis built by vmap folds)."""
    array = m.constant(node.inputs[0])
    return _constant_node(np.transpose(array, node.attr_dict["perm"])) \
        if array is not None else None


# ---- matrix products ----------------------------------------------------------------------------
def _is_identity(m, var: Var) -> bool:
    """Whether ``var`` is a constant identity matrix (its own transpose)."""
    array = m.constant(var)
    return (array is not None and array.ndim == 2 and array.shape[0] == array.shape[1]
            and np.array_equal(array, np.eye(array.shape[0], dtype=array.dtype)))


def _swap_last_two(var: Var) -> tuple:
    perm = tuple(range(var.aval.ndim - 2)) + (var.aval.ndim - 1, var.aval.ndim - 2)
    return (role("transpose").name, (var,), (("perm", perm),))


def product_with_identity(m, node):
    """op(x)·I → op(x) and I·op(x) → op(x): each element is its one term times 1 (jacfwd's and
    jacrev's basis multiplies the first layer's weights)."""
    a, b = node.inputs
    attrs = node.attr_dict
    if _is_identity(m, b):
        kept, transposed = a, attrs["transpose_a"]
    elif _is_identity(m, a):
        kept, transposed = b, attrs["transpose_b"]
    else:
        return None
    return _swap_last_two(kept) if transposed else _keep(kept, node)


def product_with_filled(m, node):
    """op(a)·C → the sums of op(a)'s rows, times c, broadcast over C's columns (and C·op(b) →
    the sums of op(b)'s columns, broadcast over C's rows) when C is filled with c: every
    element of such a product is c times one row or column sum, so one reduction replaces the
    matrix product (a cotangent of ones meets the weights' gradient this way). A product with
    zeros is a symbolic zero, as ``0·x`` is."""
    a, b = node.inputs
    attrs = node.attr_dict
    out_shape = node.out.aval.shape
    rows, cols = out_shape[-2:]
    # (filled, other, the axis of other summed, the last two axes its sums must have)
    for filled, other, axis, last_two in (
            (b, a, -2 if attrs["transpose_a"] else -1, (rows, 1)),
            (a, b, -1 if attrs["transpose_b"] else -2, (1, cols))):
        value = m.fill(filled)
        if value is None:
            continue
        if value == 0:
            return _filled(node, 0.0)
        axis += other.aval.ndim
        # over an inner dimension of 1 each sum is one element: the operand itself
        sums = other if other.aval.shape[axis] == 1 else \
            (role("reduce_sum").name, (other,), (("axis", (axis,)), ("keep_dims", True)))
        shape = tuple(1 if i == axis else size for i, size in enumerate(other.aval.shape))
        if shape[-2:] != last_two:  # a transposed operand: its sums lie along the other axis
            sums = _as_matrix(sums, shape[:-2] + last_two)
            shape = shape[:-2] + last_two
        if value != 1:
            sums = (role("multiply").name, (sums, _scalar(node, value)), ())
        return sums if shape == out_shape else \
            (role("broadcast_to").name, (sums,), (("shape", out_shape),))
    return None


def _as_matrix(var: Var | tuple, shape: tuple) -> Var | tuple:
    """``var`` (one axis of its last two has length 1) reshaped to ``shape``: the same elements
    in the same order, so a view, not a copy."""
    if isinstance(var, Var) and tuple(var.aval.shape) == shape:
        return var
    return (role("reshape").name, (var,), (("shape", shape),))


def outer_product(m, node):
    """op(a)·op(b) over an inner dimension of 1 → a column times a row, broadcast: each element
    is its one product, as the matrix product computes it, without a matrix kernel (per-sample
    gradients are batches of such outer products)."""
    a, b = node.inputs
    attrs = node.attr_dict
    *a_batch, a_rows, a_cols = a.aval.shape
    *b_batch, b_rows, b_cols = b.aval.shape
    rows, inner = (a_cols, a_rows) if attrs["transpose_a"] else (a_rows, a_cols)
    cols = b_rows if attrs["transpose_b"] else b_cols
    if inner != 1:
        return None
    column = _as_matrix(a, (*a_batch, rows, 1))
    row = _as_matrix(b, (*b_batch, 1, cols))
    return (role("multiply").name, (column, row), ())


def _row_scaled(node: Node | None, multiply: str):
    """``(matrix, row)`` when ``node`` is ``matrix · row``: an (n, k) matrix times one row of
    k scales (shape (1, k) or (k,)), the same for every row of the matrix; else None."""
    if node is None or node.op != multiply:
        return None
    for matrix, row in (node.inputs, node.inputs[::-1]):
        if (matrix.aval.ndim == 2 and matrix.aval.shape == node.out.aval.shape
                and row.aval.shape in ((1, matrix.aval.shape[1]), (matrix.aval.shape[1],))
                and row.aval.dtype == matrix.aval.dtype):
            return matrix, row
    return None


def row_scaling_onto_the_weights(m, node):
    """``(A · r) @ W → A @ (rᵀ · W)`` for a row of scales ``r``: the scales multiply W's k·m
    entries instead of A's n·k, when W has fewer columns than A has rows. Collapsed Taylor mode
    makes this shape: a Laplacian's first-layer direction is tanh' times one row of the weights,
    and its product with the next layer's weights then needs no batch-sized array per
    direction."""
    attrs = node.attr_dict
    if attrs.get("transpose_a", False) or node.out.aval.shape[1] >= node.out.aval.shape[0]:
        return None
    scaled = _row_scaled(m.op(node.inputs[0]), role("multiply").name)
    if scaled is None:
        return None
    matrix, row = scaled
    weights = node.inputs[1]
    if not attrs.get("transpose_b", False):  # W is (k, m): the scales run down its rows
        inner = row.aval.size
        row = (role("reshape").name, (row,), (("shape", (inner, 1)),))
    rescaled = (role("multiply").name, (row, weights), ())
    return node.op, (matrix, rescaled), node.attrs
