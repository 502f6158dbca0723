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


# ---- algebraic simplification, as a table ---------------------------------------------------------
# Each rule sees a node whose inputs are already simplified and answers with an existing variable
# to use instead, a replacement (op, inputs, attrs), or None. ``fill(v)`` is the scalar a
# variable is filled with (a Fill node), else None. Rules only fire when the replacement has the
# node's exact shape and dtype, so they never change what a graph computes.
def _fill_attrs(node: Node, value: float) -> tuple:
    aval = node.out.aval
    return (("dtype", aval.dtype), ("shape", aval.shape), ("value", float(value)))


def _same_aval(var: Var, node: Node) -> bool:
    return var.aval == node.out.aval


RULES: dict[str, list] = {
    "Mul": [
        # c₁ · c₂ → fill(c₁c₂)
        lambda n, fill: ("Fill", (), _fill_attrs(n, fill(n.inputs[0]) * fill(n.inputs[1])))
        if fill(n.inputs[0]) is not None and fill(n.inputs[1]) is not None else None,
        # 1 · x → x,  x · 1 → x
        lambda n, fill: n.inputs[1] if fill(n.inputs[0]) == 1 and _same_aval(n.inputs[1], n)
        else None,
        lambda n, fill: n.inputs[0] if fill(n.inputs[1]) == 1 and _same_aval(n.inputs[0], n)
        else None,
        # -1 · x → -x,  x · -1 → -x
        lambda n, fill: ("Neg", (n.inputs[1],), ())
        if fill(n.inputs[0]) == -1 and _same_aval(n.inputs[1], n) else None,
        lambda n, fill: ("Neg", (n.inputs[0],), ())
        if fill(n.inputs[1]) == -1 and _same_aval(n.inputs[0], n) else None,
    ],
    "Add": [
        # 0 + x → x,  x + 0 → x
        lambda n, fill: n.inputs[1] if fill(n.inputs[0]) == 0 and _same_aval(n.inputs[1], n)
        else None,
        lambda n, fill: n.inputs[0] if fill(n.inputs[1]) == 0 and _same_aval(n.inputs[0], n)
        else None,
    ],
    "Neg": [
        # -c → fill(-c)
        lambda n, fill: ("Fill", (), _fill_attrs(n, -fill(n.inputs[0])))
        if fill(n.inputs[0]) is not None else None,
    ],
}


def algebraic_simplification(graph: Graph) -> Graph:
    """Apply ``RULES`` in one forward sweep (rewrites of rewrites are seen, being earlier)."""
    defining: dict[Var, Node] = {}
    renamed: dict[Var, Var] = {}
    nodes: list[Node] = []

    def fill(var: Var):
        node = defining.get(var)
        if node is None or node.op != "Fill":
            return None
        value = node.attr_dict["value"]
        return None if isinstance(value, bool) else value

    for node in graph.nodes:
        inputs = tuple(renamed.get(v, v) for v in node.inputs)
        if inputs != node.inputs:
            node = Node(node.op, inputs, node.attrs, node.out)
        for rule in RULES.get(node.op, ()):
            result = rule(node, fill)
            if result is None:
                continue
            if isinstance(result, Var):
                renamed[node.out] = result
                node = None
            else:
                op, new_inputs, attrs = result
                node = Node(op, tuple(new_inputs), tuple(sorted(attrs)), node.out)
            break
        if node is not None:
            defining[node.out] = node
            nodes.append(node)
    outputs = tuple(renamed.get(v, v) for v in graph.outputs)
    return Graph(graph.inputs, tuple(nodes), outputs)


def simplify(graph: Graph) -> Graph:
    """The passes every derived graph goes through: algebra, CSE, then dead-code elimination."""
    graph = algebraic_simplification(dead_code_elimination(graph))
    return dead_code_elimination(common_subexpression_elimination(graph))
