"""Fusing chains of elementwise nodes into one kernel each, when a graph is compiled for a
device that can compile such kernels (its ``DeviceSpec.fuser``).

An op joins a fused group when its record states ``elementwise``: its value as an expression
of its inputs in the *fusion language* — Python's expression syntax over the input names, the
op's attributes (as constants), numbers, ``+ - * / **``, comparisons, ``&  |  ~`` on booleans
and the functions in ``FUNCTIONS``. ``Sigmoid`` is ``(tanh(x * 0.5) + 1) * 0.5``, ``ReLU``
``where(x > 0, x, 0)``.

The groups are trees: a node is folded into its reader when that reader is its only one, it
is not an output of the graph, both compute values of the same shape, and the device compiles
every function it uses. A value read twice is computed once and kept, never recomputed. A
group is compiled only when it holds two ops or more; a lone op runs its own kernel. The IR is
not changed: the graph stays unfused, and a device without a fuser runs the plain kernels.

A group may end in a reduction (an op's ``fused_reduction``, ``"sum"`` for ReduceSum) where
the device's fuser compiles it (``Fuser.reductions``) and the reduction is the only reader of
the group's value: a derivative's ``Σ_batch a·b·c`` then never writes the batch-sized product
(on a GPU of 1M points × 64 that is 256 MB written and read again per sum).
"""
from __future__ import annotations

import ast
import copy
import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

from .indexing import normalize_axes
from .ir import AbstractValue, Node, Var

# the functions of the fusion language (numpy's names), and how many arguments each takes
FUNCTIONS = {"sin": 1, "cos": 1, "tan": 1, "arcsin": 1, "arccos": 1, "arctan": 1,
             "sinh": 1, "cosh": 1, "tanh": 1, "arcsinh": 1, "arccosh": 1, "arctanh": 1,
             "exp": 1, "expm1": 1, "log": 1, "log1p": 1, "sqrt": 1, "abs": 1,
             "arctan2": 2, "where": 3}


@dataclass(frozen=True, eq=False)
class FusedExpression:
    """One fused group: ``tree`` computes the group's value from ``in0``, ``in1``, … (the
    group's inputs, of ``inputs`` shapes and dtypes, broadcasting to ``out``'s shape).

    A group ending in a reduction computes its value over ``shape`` (where the inputs
    broadcast) and sums it over ``reduce_axes`` of that shape into ``out`` (whose shape keeps
    them as 1s or drops them, as the reduction's ``keep_dims`` said)."""

    tree: ast.expr
    inputs: tuple[AbstractValue, ...]
    out: AbstractValue
    ops: int
    reduce_axes: tuple[int, ...] = ()
    element_shape: tuple[int, ...] | None = None
    text: str = field(init=False)

    def __post_init__(self) -> None:
        text = ast.unparse(self.tree)
        if self.reduce_axes:
            text = f"sum({text}, over={self.element_shape}, axes={self.reduce_axes})"
        object.__setattr__(self, "text", text)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape the group's elementwise value has (``out``'s, unless it is reduced)."""
        return self.out.shape if self.element_shape is None else self.element_shape


# the operators of the fusion language (& | ~ on booleans); a comparison compares two values
_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.BitAnd, ast.BitOr, ast.USub,
              ast.UAdd, ast.Invert, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)


@functools.lru_cache(maxsize=None)
def parse(template: str) -> ast.expr:
    """An op's ``elementwise`` template as a checked expression tree."""
    tree = ast.parse(template, mode="eval").body
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None)
            if name not in FUNCTIONS or len(node.args) != FUNCTIONS[name] or node.keywords:
                raise ValueError(f"elementwise expression {template!r}: {ast.unparse(node)} is "
                                 f"not a function of the fusion language "
                                 f"({', '.join(sorted(FUNCTIONS))})")
        elif isinstance(node, (ast.operator, ast.unaryop, ast.cmpop)):
            if not isinstance(node, _OPERATORS):
                raise ValueError(f"elementwise expression {template!r}: the operator "
                                 f"{type(node).__name__} is not in the fusion language")
        elif isinstance(node, ast.Compare) and len(node.ops) != 1:
            raise ValueError(f"elementwise expression {template!r}: a chained comparison is "
                             f"not in the fusion language")
        elif not isinstance(node, (ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp, ast.Compare,
                                   ast.Load)):
            raise ValueError(f"elementwise expression {template!r}: {type(node).__name__} is "
                             f"not in the fusion language")
    return tree


def dtype_name(node: ast.expr, input_dtypes: dict[str, str]) -> str | None:
    """The dtype name of a subexpression's value (``input_dtypes`` by name, ``in0``: …), or
    None where it is only numbers, whose dtype is that of what they meet."""
    if isinstance(node, ast.Name):
        return input_dtypes[node.id]
    if isinstance(node, ast.Constant):
        return None
    if isinstance(node, ast.Compare):
        return "bool"
    if isinstance(node, ast.BinOp):
        return dtype_name(node.left, input_dtypes) or dtype_name(node.right, input_dtypes)
    if isinstance(node, ast.UnaryOp):
        return dtype_name(node.operand, input_dtypes)
    arguments = node.args[1:] if node.func.id == "where" else node.args
    return next((d for d in (dtype_name(a, input_dtypes) for a in arguments) if d is not None),
                None)


def input_dtypes(expression: "FusedExpression") -> dict[str, str]:
    return {f"in{i}": aval.dtype.name for i, aval in enumerate(expression.inputs)}


def constant_dtypes(expression: "FusedExpression") -> dict[int, str]:
    """The dtype name each number of the expression takes, by ``id`` of its node: that of the
    value it meets (a Python number meets a float32 array in float32, as numpy computes it),
    so a float64 group that compares a float32 input keeps its own numbers float64."""
    names = input_dtypes(expression)
    found: dict[int, str] = {}

    def dtype_of(node: ast.expr) -> str | None:
        return dtype_name(node, names)

    def assign(node: ast.expr, context: str) -> None:
        if isinstance(node, ast.Constant):
            found[id(node)] = context
            return
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            inner = next((d for d in map(dtype_of, operands) if d is not None), context)
            for operand in operands:
                assign(operand, inner)
            return
        if isinstance(node, ast.Call) and node.func.id == "where":
            assign(node.args[0], "bool")
            inner = dtype_of(node) or context
            for argument in node.args[1:]:
                assign(argument, inner)
            return
        inner = dtype_of(node) or context
        children = (node.args if isinstance(node, ast.Call) else
                    [node.operand] if isinstance(node, ast.UnaryOp) else
                    [node.left, node.right] if isinstance(node, ast.BinOp) else [])
        for child in children:
            assign(child, inner)

    assign(expression.tree, expression.out.dtype.name)
    return found


@functools.lru_cache(maxsize=None)
def template_functions(template: str) -> frozenset[str]:
    return frozenset(node.func.id for node in ast.walk(parse(template))
                     if isinstance(node, ast.Call))


def instantiate(template: str, values: dict) -> ast.expr:
    """A fresh tree of ``template`` with its names replaced: by the trees ``values`` gives for
    inputs, by numbers for attributes."""
    return _Substitute(values).visit(copy.deepcopy(parse(template)))


class _Substitute(ast.NodeTransformer):
    def __init__(self, values: dict) -> None:
        self.values = values

    def visit_Call(self, node: ast.Call):
        node.args = [self.visit(argument) for argument in node.args]
        return node   # the function's name is not a value

    def visit_Name(self, node: ast.Name):
        value = self.values[node.id]
        if isinstance(value, ast.AST):
            return value
        # an attribute: a number, as a plain Python one (numpy scalars print as calls)
        return ast.Constant(value.item() if hasattr(value, "item") else value)


def fuse(nodes: Sequence[Node], outputs: Sequence[Var], template_of: Callable[[Node], str | None],
         fuser, reduction_of: Callable[[Node], str | None] = lambda node: None,
         ) -> tuple[list[Node], dict[Var, FusedExpression]]:
    """``nodes`` with each fused group as one node ``Node("Fused", group inputs, (), root)``, and
    the expression of each such node by its output variable.

    ``template_of(node)`` is the node's ``elementwise`` template, or None where it has none;
    ``reduction_of(node)`` its ``fused_reduction``. A float reduction the fuser compiles that
    is the only reader of an elementwise value (of at least ``min_size`` elements) ends that
    value's group: the group's root is then the reduction.
    """
    reads = Counter(var for node in nodes for var in node.inputs)
    held = set(outputs)

    def joins(node: Node) -> bool:
        template = template_of(node)
        return (template is not None and node.out.aval.dtype in fuser.dtypes
                and all(v.aval.dtype in fuser.dtypes for v in node.inputs)
                and template_functions(template) <= fuser.functions)

    fusible = {node.out: node for node in nodes
               if joins(node) and node.out.aval.size >= fuser.min_size}
    folded = {var for node in fusible.values() for var in node.inputs
              if var in fusible and reads[var] == 1 and var not in held
              and var.aval.shape == node.out.aval.shape}
    # reductions ending a group, by their output: the elementwise value each sums
    summing = {node.out: node.inputs[0] for node in nodes
               if reduction_of(node) in fuser.reductions and node.out.aval.dtype.is_float
               and node.inputs[0] in fusible and reads[node.inputs[0]] == 1
               and node.inputs[0] not in held
               and node.inputs[0].aval.dtype == node.out.aval.dtype}
    summed = set(summing.values())

    result: list[Node] = []
    expressions: dict[Var, FusedExpression] = {}
    for node in nodes:
        if node.out in folded or node.out in summed:
            continue   # computed inside its reader's group
        reduced = summing.get(node.out)
        if reduced is None and (node.out not in fusible
                                or not any(v in folded for v in node.inputs)):
            result.append(node)
            continue
        leaves: list[Var] = []
        count = [0]

        def build(current: Node) -> ast.expr:
            count[0] += 1
            values = dict(current.attrs)
            for name, var in zip(_input_names(current), current.inputs):
                if var in folded:
                    values[name] = build(fusible[var])
                else:
                    if var not in leaves:
                        leaves.append(var)
                    values[name] = ast.Name(f"in{leaves.index(var)}", ast.Load())
            return instantiate(template_of(current), values)

        if reduced is None:
            tree = ast.fix_missing_locations(build(node))
            expressions[node.out] = FusedExpression(tree, tuple(v.aval for v in leaves),
                                                    node.out.aval, count[0])
        else:
            tree = ast.fix_missing_locations(build(fusible[reduced]))
            axes = normalize_axes(node.attr_dict.get("axis"), reduced.aval.ndim)
            expressions[node.out] = FusedExpression(
                tree, tuple(v.aval for v in leaves), node.out.aval, count[0] + 1,
                reduce_axes=tuple(sorted(axes)), element_shape=reduced.aval.shape)
        result.append(Node("Fused", tuple(leaves), (), node.out))
    return result, expressions


def _input_names(node: Node) -> tuple[str, ...]:
    from .registry import registry
    return registry().op(node.op).inputs



def evaluator(xp) -> Callable[[FusedExpression], Callable]:
    """A ``Fuser.compile`` that evaluates an expression with ``xp``'s functions, one array per
    op: the meaning of the fusion language, which the tests hold every fuser and every op's
    template to (it fuses nothing)."""

    def compile_expression(expression: FusedExpression) -> Callable:
        names = ", ".join(f"in{i}" for i in range(len(expression.inputs)))
        code = compile(f"lambda {names}: {ast.unparse(expression.tree)}", "<fused>", "eval")
        namespace = {name: getattr(xp, name) for name in FUNCTIONS}
        function = eval(code, namespace)  # noqa: S307 (our own checked expression)
        dtype = getattr(xp, expression.out.dtype.name, None) or getattr(
            xp, expression.out.dtype.name + "_")

        def kernel(*arrays, out=None):
            value = xp.asarray(function(*arrays), dtype=dtype)
            value = xp.broadcast_to(value, expression.shape)
            if expression.reduce_axes:
                value = xp.reshape(xp.sum(value, axis=expression.reduce_axes),
                                   expression.out.shape)
            if out is None:
                return xp.array(value, copy=True)
            out[...] = value
            return out
        return kernel

    return compile_expression
