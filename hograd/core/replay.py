"""Replaying a graph through the dispatcher: each node is applied again to new input tensors.

Eagerly this evaluates the graph op by op; inside a trace it copies the graph into that trace.
The transformer uses it to rebuild the forward pass in the derivative graph, and a gradient
function called inside an enclosing trace uses it to inline its derivative graph there.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .dispatch import apply
from .ir import Graph, Var
from .registry import registry
from .trace import current_trace


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
    """The output tensors of ``graph`` applied to ``inputs``.

    Run eagerly, an output that is one of the inputs comes back as a new tensor of its values:
    a derivative that equals a Parameter (d/dx x·p = p) must not be that Parameter."""
    env = replay(graph, inputs)
    outputs = [env[v] for v in graph.outputs]
    if current_trace() is None:
        given = {id(t) for t in inputs}
        outputs = [_fresh(t) if id(t) in given else t for t in outputs]
    return outputs


def _fresh(tensor):
    from .tensor import Tensor
    device = tensor._device
    data = device.to_device(np.array(device.to_host(tensor._data), copy=True))
    return Tensor._traced(data, tensor._aval, device, None, None)
