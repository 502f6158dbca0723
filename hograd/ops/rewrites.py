"""The building blocks of algebraic rewrites, from which each op declares its own in its record
(``OpDef(rewrites=...)``); the simplifier (core/passes.py) applies them to every derived graph.

A rewrite ``rule(m, node)`` sees a node whose inputs are already simplified, through ``m``:
``m.fill(v)`` is the scalar a float variable is filled with (a Fill node) or None, ``m.op(v)``
the node that defined it. It answers with an existing variable to use instead, a replacement
``(op, inputs, attrs)`` whose inputs may be new nodes (``Made``), or None. A rule only returns a variable of the node's exact shape and
dtype, and replacements are Fills of the node's own abstract value or a negation of an input
of that value, so no rule changes what a graph computes.
"""
from __future__ import annotations

from typing import Callable

from ..core.ir import AbstractValue, Node, Var
from ..core.passes import Made
from ..core.roles import role


def _filled(node: Node, value: float) -> tuple:
    aval = node.out.aval
    return (role("fill").name, (), (("dtype", aval.dtype), ("shape", aval.shape),
                                    ("value", float(value))))


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


def summed_fill(m, node):
    """A filled value summed over axes is filled with it times the count summed."""
    value = m.fill(node.inputs[0])
    if value is None or not node.out.aval.dtype.is_float:
        return None
    return _filled(node, value * (node.inputs[0].aval.size // max(node.out.aval.size, 1)))


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
        row = Made(role("reshape").name, (row,), (("shape", (inner, 1)),),
                   AbstractValue((inner, 1), row.aval.dtype))
    rescaled = Made(role("multiply").name, (row, weights), (), weights.aval)
    return node.op, (matrix, rescaled), node.attrs
