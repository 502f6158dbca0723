"""Graph passes: graph in, new graph out. Each keeps the inputs and what the outputs compute."""
from __future__ import annotations

from dataclasses import dataclass

from .ir import AbstractValue, Graph, Node, Var
from .registry import registry
from .roles import role


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


def _exact(attrs: tuple) -> tuple:
    """Attributes keyed by what changes results: floats by their bits (0.0 == -0.0, but 1 / x
    tells them apart; a NaN equals itself here)."""
    return tuple((name, ("float", value.hex()) if isinstance(value, float) else value)
                 for name, value in attrs)


def common_subexpression_elimination(graph: Graph) -> Graph:
    """Merge nodes that apply the same op to the same inputs with the same attributes."""
    ops = registry().ops
    seen: dict[tuple, Var] = {}
    renamed: dict[Var, Var] = {}
    nodes: list[Node] = []
    for node in graph.nodes:
        inputs = tuple(renamed.get(v, v) for v in node.inputs)
        key = (node.op, inputs, _exact(node.attrs))
        if not ops[node.op].effect:
            earlier = seen.get(key)
            if earlier is not None:
                renamed[node.out] = earlier
                continue
            seen[key] = node.out
        nodes.append(node if inputs == node.inputs else Node(node.op, inputs, node.attrs, node.out))
    outputs = tuple(renamed.get(v, v) for v in graph.outputs)
    return Graph(graph.inputs, tuple(nodes), outputs)


# ---- algebraic simplification, from each op's own rewrites (``OpDef.rewrites``) ------------------
class _Match:
    """What rules may ask about a variable: its filled value, the node that defined it."""

    def __init__(self) -> None:
        self.defining: dict[Var, Node] = {}
        self.fill_op = role("fill").name

    def op(self, var: Var) -> Node | None:
        return self.defining.get(var)

    def fill(self, var: Var):
        node = self.defining.get(var)
        if node is None or node.op != self.fill_op:
            return None
        value = node.attr_dict["value"]
        return None if isinstance(value, bool) or not node.out.aval.dtype.is_float else value


@dataclass(frozen=True)
class Made:
    """A new node a rewrite asks for as an input of its replacement: ``op(*inputs, **attrs)``
    of abstract value ``aval`` (its inputs may be ``Made`` too)."""

    op: str
    inputs: tuple
    attrs: tuple
    aval: AbstractValue


def _made(item, nodes: list[Node], match: "_Match") -> Var:
    if not isinstance(item, Made):
        return item
    var = Var(item.aval)
    node = Node(item.op, tuple(_made(i, nodes, match) for i in item.inputs),
                tuple(sorted(item.attrs)), var)
    match.defining[var] = node
    nodes.append(node)
    return var


def algebraic_simplification(graph: Graph) -> Graph:
    """Apply each node's op's rewrites in one forward sweep (rewrites of rewrites are seen,
    being earlier); the building blocks are in ops/rewrites.py."""
    ops = registry().ops
    match = _Match()
    renamed: dict[Var, Var] = {}
    nodes: list[Node] = []
    for node in graph.nodes:
        inputs = tuple(renamed.get(v, v) for v in node.inputs)
        if inputs != node.inputs:
            node = Node(node.op, inputs, node.attrs, node.out)
        for rule in ops[node.op].rewrites:
            result = rule(match, node)
            if result is None:
                continue
            if isinstance(result, Var):
                renamed[node.out] = result
                node = None
            else:
                op, new_inputs, attrs = result
                made = [_made(item, nodes, match) for item in new_inputs]
                node = Node(op, tuple(made), tuple(sorted(attrs)), node.out)
            break
        if node is not None:
            match.defining[node.out] = node
            nodes.append(node)
    outputs = tuple(renamed.get(v, v) for v in graph.outputs)
    return Graph(graph.inputs, tuple(nodes), outputs)


def simplify(graph: Graph) -> Graph:
    """The passes every derived graph goes through: algebra (each op's rewrites), CSE, then
    dead-code elimination."""
    graph = algebraic_simplification(dead_code_elimination(graph))
    return dead_code_elimination(common_subexpression_elimination(graph))
