"""Staging: running a Python function under a trace to get its simplified graph.

>>> print(stage(ops.GradOperation()(ops.sin), [Tensor([1.0])]).graph)
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from .passes import simplify
from .pytree import flatten, unflatten
from .trace import ClosedGraph, Trace


def stage_with_structure(fn: Callable, leaves: Sequence[Any], structure: Any
                         ) -> tuple[ClosedGraph, Any]:
    """Trace ``fn(*unflatten(structure, leaves))``; its simplified graph and output structure."""
    with Trace() as trace:
        inner = [trace.new_input(t._aval, t._value, t._device) for t in leaves]
        result = fn(*unflatten(structure, inner))
        out_leaves, out_structure = flatten(result)
        closed = trace.finish(out_leaves)
    # a user's function: its derivatives inside were simplified as they were derived
    simplified = ClosedGraph(simplify(closed.graph, collect=False), closed.captured,
                             closed.n_explicit)
    return simplified, out_structure


def stage(fn: Callable, args: Sequence[Any]) -> ClosedGraph:
    """The simplified graph of ``fn(*args)`` (``args`` may nest tensors in tuples)."""
    leaves, structure = flatten(tuple(args))
    return stage_with_structure(fn, leaves, structure)[0]
