"""Graph passes: graph in, new graph out. Each keeps the inputs and what the outputs compute."""
from __future__ import annotations

from .ir import AbstractValue, Graph, Node, Var
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
# Each rule ``rule(m, node)`` sees a node whose inputs are already simplified, through ``m``:
# ``m.fill(v)`` is the scalar a float variable is filled with (a Fill node) or None, ``m.op(v)``
# the node that defined it.
# A rule answers with an existing variable to use instead, a replacement (op, inputs, attrs), or
# None. A rule only returns a variable of the node's exact shape and dtype, and replacements
# are Fills of the node's own abstract value, so no rule changes what a graph computes.
def _filled(node: Node, value: float) -> tuple:
    aval = node.out.aval
    return ("Fill", (), (("dtype", aval.dtype), ("shape", aval.shape), ("value", float(value))))


def _keep(var: Var, node: Node):
    """``var`` in place of ``node``, if it has the node's shape and dtype."""
    return var if var.aval == node.out.aval else None


def _both_filled(m, node: Node, combine):
    a, b = m.fill(node.inputs[0]), m.fill(node.inputs[1])
    return _filled(node, combine(a, b)) if a is not None and b is not None else None


def _negated(var: Var, node: Node):
    return ("Neg", (var,), ()) if var.aval == node.out.aval else None


def _moved_fill(m, node: Node):
    """A filled value reshaped, broadcast, cast or averaged is still filled with it."""
    value = m.fill(node.inputs[0])
    return _filled(node, value) if value is not None and node.out.aval.dtype.is_float else None


def _summed_fill(m, node: Node):
    value = m.fill(node.inputs[0])
    if value is None or not node.out.aval.dtype.is_float:
        return None
    return _filled(node, value * (node.inputs[0].aval.size // max(node.out.aval.size, 1)))


def _double_negation(m, node: Node):
    inner = m.op(node.inputs[0])
    return inner.inputs[0] if inner is not None and inner.op == "Neg" else None


RULES: dict[str, list] = {
    "Mul": [
        lambda m, n: _both_filled(m, n, lambda a, b: a * b),                    # c₁·c₂ → c
        lambda m, n: _filled(n, 0.0) if 0 in (m.fill(n.inputs[0]), m.fill(n.inputs[1]))
        else None,                                                              # 0·x → 0
        lambda m, n: _keep(n.inputs[1], n) if m.fill(n.inputs[0]) == 1 else None,  # 1·x → x
        lambda m, n: _keep(n.inputs[0], n) if m.fill(n.inputs[1]) == 1 else None,  # x·1 → x
        lambda m, n: _negated(n.inputs[1], n) if m.fill(n.inputs[0]) == -1 else None,  # -1·x
        lambda m, n: _negated(n.inputs[0], n) if m.fill(n.inputs[1]) == -1 else None,  # x·-1
    ],
    "Add": [
        lambda m, n: _both_filled(m, n, lambda a, b: a + b),                    # c₁+c₂ → c
        lambda m, n: _keep(n.inputs[1], n) if m.fill(n.inputs[0]) == 0 else None,  # 0+x → x
        lambda m, n: _keep(n.inputs[0], n) if m.fill(n.inputs[1]) == 0 else None,  # x+0 → x
    ],
    "Sub": [
        lambda m, n: _both_filled(m, n, lambda a, b: a - b),                    # c₁-c₂ → c
        lambda m, n: _keep(n.inputs[0], n) if m.fill(n.inputs[1]) == 0 else None,  # x-0 → x
        lambda m, n: _negated(n.inputs[1], n) if m.fill(n.inputs[0]) == 0 else None,  # 0-x
    ],
    "RealDiv": [
        lambda m, n: _both_filled(m, n, lambda a, b: a / b) if m.fill(n.inputs[1]) else None,
        lambda m, n: _keep(n.inputs[0], n) if m.fill(n.inputs[1]) == 1 else None,  # x/1 → x
    ],
    "Neg": [
        lambda m, n: _filled(n, -m.fill(n.inputs[0])) if m.fill(n.inputs[0]) is not None
        else None,                                                              # -c → c'
        _double_negation,                                                       # --x → x
    ],
    **{op: [_moved_fill] for op in ("BroadcastTo", "Reshape", "ExpandDims", "Transpose",
                                    "ReduceMean", "Cast")},
    "ReduceSum": [_summed_fill],
}


class _Match:
    """What rules may ask about a variable: its filled value, the node that defined it."""

    def __init__(self) -> None:
        self.defining: dict[Var, Node] = {}

    def op(self, var: Var) -> Node | None:
        return self.defining.get(var)

    def fill(self, var: Var):
        node = self.defining.get(var)
        if node is None or node.op != "Fill":
            return None
        value = node.attr_dict["value"]
        return None if isinstance(value, bool) or not node.out.aval.dtype.is_float else value


def algebraic_simplification(graph: Graph) -> Graph:
    """Apply ``RULES`` in one forward sweep (rewrites of rewrites are seen, being earlier)."""
    match = _Match()
    renamed: dict[Var, Var] = {}
    nodes: list[Node] = []
    for node in graph.nodes:
        inputs = tuple(renamed.get(v, v) for v in node.inputs)
        if inputs != node.inputs:
            node = Node(node.op, inputs, node.attrs, node.out)
        for rule in RULES.get(node.op, ()):
            result = rule(match, node)
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
            match.defining[node.out] = node
            nodes.append(node)
    outputs = tuple(renamed.get(v, v) for v in graph.outputs)
    return Graph(graph.inputs, tuple(nodes), outputs)


# ---- reassociation: a row scaling moves onto the smaller factor ----------------------------------
def _row_scaled(node: Node | None):
    """``(matrix, row)`` when ``node`` is ``matrix · row``: an (n, k) matrix times one row of
    k scales (shape (1, k) or (k,)), the same for every row of the matrix; else None."""
    if node is None or node.op != "Mul":
        return None
    for matrix, row in (node.inputs, node.inputs[::-1]):
        if (matrix.aval.ndim == 2 and matrix.aval.shape == node.out.aval.shape
                and row.aval.shape in ((1, matrix.aval.shape[1]), (matrix.aval.shape[1],))
                and row.aval.dtype == matrix.aval.dtype):
            return matrix, row
    return None


def reassociate_row_scaling(graph: Graph) -> Graph:
    """``(A · r) @ W → A @ (rᵀ · W)`` for a row of scales ``r``: the scales multiply W's k·m
    entries instead of A's n·k, when W has fewer columns than A has rows. Collapsed Taylor mode
    makes this shape: a Laplacian's first-layer direction is tanh' times one row of the weights
    (``core/coefficients.fit``), and its product with the next layer's weights then needs no
    batch-sized array per direction."""
    defining = {node.out: node for node in graph.nodes}
    nodes: list[Node] = []
    for node in graph.nodes:
        attrs = node.attr_dict
        scaled = _row_scaled(defining.get(node.inputs[0])) if (
            node.op == "MatMul" and not attrs.get("transpose_a", False)) else None
        weights = node.inputs[1] if scaled else None
        if scaled is None or node.out.aval.shape[1] >= node.out.aval.shape[0]:
            nodes.append(node)
            continue
        matrix, row = scaled
        inner = row.aval.size
        if not attrs.get("transpose_b", False):  # W is (k, m): the scales run down its rows
            column = Var(AbstractValue((inner, 1), row.aval.dtype))
            nodes.append(Node("Reshape", (row,), (("shape", (inner, 1)),), column))
            row = column
        rescaled = Var(weights.aval)
        nodes.append(Node("Mul", (row, weights), (), rescaled))
        nodes.append(Node("MatMul", (matrix, rescaled), node.attrs, node.out))
    return Graph(graph.inputs, tuple(nodes), graph.outputs)


def simplify(graph: Graph) -> Graph:
    """The passes every derived graph goes through: algebra, reassociation, CSE, then
    dead-code elimination."""
    graph = reassociate_row_scaling(algebraic_simplification(dead_code_elimination(graph)))
    return dead_code_elimination(common_subexpression_elimination(graph))
