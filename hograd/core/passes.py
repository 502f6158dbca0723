"""Graph passes: graph in, new graph out. Each keeps the inputs and what the outputs compute."""
from __future__ import annotations

from .canonical import collect_terms, filled_value, value_key
from .errors import HogradError
from .ir import Graph, Node, Var
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


def common_subexpression_elimination(graph: Graph) -> Graph:
    """Merge nodes that apply the same op to the same inputs with the same attributes."""
    ops = registry().ops
    seen: dict[tuple, Var] = {}
    renamed: dict[Var, Var] = {}
    nodes: list[Node] = []
    for node in graph.nodes:
        inputs = tuple(renamed.get(v, v) for v in node.inputs)
        # a·b and b·a are one value: commutative ops are keyed by their inputs in a fixed order
        key = value_key(node.op, inputs, node.attrs, ops[node.op].commutative)
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
    """What rules may ask about a variable: its filled value, its constant value, the node that
    defined it."""

    def __init__(self) -> None:
        self.defining: dict[Var, Node] = {}
        self.fill_op = role("fill").name
        self._filled: dict[Var, float | None] = {}

    def op(self, var: Var) -> Node | None:
        return self.defining.get(var)

    def fill(self, var: Var):
        """The one value every element of a float variable holds, if the graph says so ahead of
        running it: a Fill, or a Constant whose elements are all equal (a traced Python scalar,
        ``2.0 * x``), so a constant meets a fill in one folding rule. A zero is read only from
        a Fill: a Fill of 0 is a symbolic zero (0·x is 0 whatever x holds, as the transformers
        treat a zero cotangent), while a user's ``x * 0.0`` keeps IEEE's NaN at x = inf, as
        PyNative mode computes it."""
        if var not in self._filled:
            node = self.defining.get(var)
            value = filled_value(node, self.fill_op)
            if value == 0 and node.op == "Constant":
                value = None
            self._filled[var] = value
        return self._filled[var]

    def constant(self, var: Var):
        """The (read-only, host) array of a Constant node, or None."""
        node = self.defining.get(var)
        return node.attr_dict["value"].array if node is not None and node.op == "Constant" \
            else None


def _inferred(ops, op: str, inputs: tuple, attrs: tuple):
    """The abstract value a replacement node would have; None when its op refuses the inputs."""
    try:
        return ops[op].infer(*(v.aval for v in inputs), **dict(attrs))
    except HogradError:
        return None


def _materialize(ops, replacement: tuple, out: Var | None, match: _Match,
                 nodes: list[Node]) -> Var | None:
    """Append the nodes of ``replacement`` (``(op, inputs, attrs)``, whose inputs may be nested
    replacements: the few new nodes a rule needs), the last one defining ``out`` — if its shape
    and dtype are ``out``'s. Returns the variable defined, or None and appends nothing."""
    op, inputs, attrs = replacement
    staged: list[Node] = []
    resolved = []
    for item in inputs:
        if isinstance(item, Var):
            resolved.append(item)
            continue
        inner = _materialize(ops, item, None, match, staged)
        if inner is None:
            return None
        resolved.append(inner)
    attrs = tuple(sorted(attrs))
    aval = _inferred(ops, op, tuple(resolved), attrs)
    if aval is None or (out is not None and aval != out.aval):
        return None
    node = Node(op, tuple(resolved), attrs, out if out is not None else Var(aval))
    staged.append(node)
    for new in staged:
        match.defining[new.out] = new
    nodes.extend(staged)
    return node.out


def algebraic_simplification(graph: Graph) -> Graph:
    """Apply each node's op's rewrites in one forward sweep (rewrites of rewrites are seen,
    being earlier); the building blocks are in ops/rewrites.py. A replacement that would
    change the node's shape or dtype is not taken, whatever the rule."""
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
            elif _materialize(ops, result, node.out, match, nodes) is None:
                continue
            node = None
            break
        if node is not None:
            match.defining[node.out] = node
            nodes.append(node)
    outputs = tuple(renamed.get(v, v) for v in graph.outputs)
    return Graph(graph.inputs, tuple(nodes), outputs)


def simplify(graph: Graph, collect: bool = True) -> Graph:
    """The passes every graph goes through: the ops' rewrites, CSE, then dead-code elimination.

    With ``collect`` (the transformers' derivative graphs, whose zeros are symbolic) the sums
    of products are also collected (core/canonical.py), between CSE (so that alike terms are
    one value) and a second round of the rewrites (for what that folded: a sum that cancelled
    is a fill). Not in a user's own graph (a compiled Cell's): collecting cancels ``x - x`` to
    0 where IEEE gives NaN (x = ±inf), and GRAPH_MODE must compute what PYNATIVE_MODE computes.
    Not in Taylor mode's graphs either: its rules write each coefficient as one collected sum
    already (measured: no node fewer from order 4 on, for twice the first call's time)."""
    graph = common_subexpression_elimination(algebraic_simplification(
        dead_code_elimination(graph)))
    if collect:
        collected = collect_terms(graph)
        if collected is not graph:
            graph = common_subexpression_elimination(algebraic_simplification(collected))
    return dead_code_elimination(graph)
