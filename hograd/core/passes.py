"""Graph passes: graph in, new graph out. Each keeps the inputs and what the outputs compute."""
from __future__ import annotations

from .ir import Graph, Node, Var
from .registry import registry


def dead_code_elimination(graph: Graph) -> Graph:
    """Drop nodes no output needs; guard (effect) nodes and what they read are kept."""
    ops = registry().ops
    live: set[Var] = set(graph.outputs)
    kept: list[Node] = []
    for node in reversed(graph.nodes):
        if node.out in live or ops[node.op].effect:
            kept.append(node)
            live.update(node.inputs)
    kept.reverse()
    return Graph(graph.inputs, tuple(kept), graph.outputs)


def common_subexpression_elimination(graph: Graph) -> Graph:
    """Merge nodes that apply the same op to the same inputs with the same attributes."""
    ops = registry().ops
    seen: dict[tuple, Var] = {}
    renamed: dict[Var, Var] = {}
    nodes: list[Node] = []
    for node in graph.nodes:
        inputs = tuple(renamed.get(v, v) for v in node.inputs)
        key = (node.op, inputs, node.attrs)
        if not ops[node.op].effect:
            earlier = seen.get(key)
            if earlier is not None:
                renamed[node.out] = earlier
                continue
            seen[key] = node.out
        nodes.append(node if inputs == node.inputs else Node(node.op, inputs, node.attrs, node.out))
    outputs = tuple(renamed.get(v, v) for v in graph.outputs)
    return Graph(graph.inputs, tuple(nodes), outputs)


def simplify(graph: Graph) -> Graph:
    """The passes every derived graph goes through."""
    return dead_code_elimination(common_subexpression_elimination(dead_code_elimination(graph)))
