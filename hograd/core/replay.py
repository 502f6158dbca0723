"""Replaying a graph through the dispatcher: each node is applied again to new input tensors.

Eagerly this evaluates the graph op by op; inside a trace it copies the graph into that trace.
The transformer uses it to rebuild the forward pass in the derivative graph, and a gradient
function called inside an enclosing trace uses it to inline its derivative graph there.
"""
from __future__ import annotations

from typing import Any, Sequence

from .dispatch import apply
from .ir import Graph, Var
from .registry import registry


def replay(graph: Graph, inputs: Sequence[Any]) -> dict[Var, Any]:
    """Apply every node of ``graph`` to ``inputs``; return the tensor for every variable."""
    if len(inputs) != len(graph.inputs):
        raise ValueError(f"graph takes {len(graph.inputs)} inputs, got {len(inputs)}")
    env: dict[Var, Any] = dict(zip(graph.inputs, inputs))
    reg = registry()
    for node in graph.nodes:
        env[node.out] = apply(reg.op(node.op), [env[v] for v in node.inputs], node.attr_dict,
                              validated=True)
    return env


def call_graph(graph: Graph, inputs: Sequence[Any]) -> list[Any]:
    """The output tensors of ``graph`` applied to ``inputs``."""
    env = replay(graph, inputs)
    return [env[v] for v in graph.outputs]
