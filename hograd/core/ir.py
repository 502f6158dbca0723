"""The graph IR: SSA graphs of typed nodes, immutable, printable and checkable.

A ``Graph`` has typed input variables, a tuple of ``Node``s in a valid evaluation order and a tuple
of output variables. A node names its op, its input variables, its attributes (a sorted tuple of
hashable ``(name, value)`` pairs) and the variable it defines, whose ``AbstractValue`` is the
shape and dtype it will hold. Passes never mutate a graph; they build a new one.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import dtype as dt
from .errors import GraphValidationError

_var_ids = itertools.count()


@dataclass(frozen=True, slots=True)
class AbstractValue:
    """What a variable will hold: a shape and a dtype, with no data."""

    shape: tuple[int, ...]
    dtype: dt.DType

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __str__(self) -> str:
        short = {"float": "f", "int": "i", "bool": "b"}[self.dtype.category]
        bits = "" if self.dtype.category == "bool" else str(self.dtype.bits)
        return f"{short}{bits}[{','.join(map(str, self.shape))}]"


@dataclass(frozen=True, slots=True, eq=False)
class Var:
    """One SSA variable; compared by identity, numbered for printing."""

    aval: AbstractValue
    id: int = field(default_factory=lambda: next(_var_ids))

    def __hash__(self) -> int:
        return self.id

    def __eq__(self, other: object) -> bool:
        return self is other


class ConstValue:
    """A host array made hashable by content, so constants can be node attributes and be CSE'd."""

    __slots__ = ("array", "_key")

    def __init__(self, array) -> None:
        self.array = np.array(array, copy=True)
        self.array.setflags(write=False)
        self._key = (self.array.shape, self.array.dtype.str, self.array.tobytes())

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConstValue) and self._key == other._key

    def __repr__(self) -> str:
        if self.array.size <= 4:
            return np.array2string(self.array, separator=",").replace("\n", "")
        return f"<{self.array.dtype}{list(self.array.shape)}>"


def freeze_attrs(attrs: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Attributes as a node stores them: sorted (name, value) pairs, which must be hashable."""
    frozen = tuple(sorted(attrs.items()))
    try:
        hash(frozen)
    except TypeError as err:
        raise GraphValidationError(f"node attributes must be hashable: {attrs!r} ({err})") from None
    return frozen


@dataclass(frozen=True, slots=True)
class Node:
    """``out = op(*inputs, **attrs)``."""

    op: str
    inputs: tuple[Var, ...]
    attrs: tuple[tuple[str, Any], ...]
    out: Var

    @property
    def attr_dict(self) -> dict[str, Any]:
        return dict(self.attrs)

    def __str__(self) -> str:
        return self.render({})

    def render(self, names: dict[Var, int]) -> str:
        """One line of text; ``names`` renumbers variables (unknown ones keep their id)."""
        def name(var: Var) -> str:
            return f"%{names.get(var, var.id)}"
        args = ", ".join(name(v) for v in self.inputs)
        attrs = ", ".join(f"{k}={_attr_str(v)}" for k, v in self.attrs)
        sep = ", " if args and attrs else ""
        return f"{name(self.out)}: {self.out.aval} = {self.op}({args}{sep}{attrs})"


def _attr_str(value: Any) -> str:
    if isinstance(value, Graph):
        return f"<graph of {len(value.nodes)} nodes>"
    return repr(value)


@dataclass(frozen=True, eq=False)
class Graph:
    """An immutable SSA graph. ``print(graph)`` shows one node a line."""

    inputs: tuple[Var, ...]
    nodes: tuple[Node, ...]
    outputs: tuple[Var, ...]

    def __str__(self) -> str:
        # variables are numbered in order of definition, so a printout does not depend on
        # how many graphs the process built before
        names: dict[Var, int] = {}
        for var in (*self.inputs, *(n.out for n in self.nodes)):
            names.setdefault(var, len(names))
        params = ", ".join(f"%{names[v]}: {v.aval}" for v in self.inputs)
        body = "".join(f"  {node.render(names)}\n" for node in self.nodes)
        outs = ", ".join(f"%{names.get(v, v.id)}" for v in self.outputs)
        return f"graph({params}) {{\n{body}  return ({outs})\n}}"

    def __hash__(self) -> int:
        return id(self)

    def count(self, op: str | None = None) -> int:
        """How many nodes (of one op, if named) the graph has."""
        return len(self.nodes) if op is None else sum(n.op == op for n in self.nodes)

    def validate(self, infer=None) -> "Graph":
        """Check SSA form: each variable defined once, before use; outputs defined.

        With ``infer(node) -> AbstractValue``, also check that each node's recorded abstract value
        is what its op's shape rule gives. Returns the graph, so calls can be chained.
        """
        defined: set[Var] = set()
        for var in self.inputs:
            if var in defined:
                raise GraphValidationError(f"input %{var.id} is listed twice")
            defined.add(var)
        for index, node in enumerate(self.nodes):
            for var in node.inputs:
                if var not in defined:
                    raise GraphValidationError(
                        f"node {index} ({node}) uses %{var.id} before it is defined")
            if node.out in defined:
                raise GraphValidationError(f"node {index} ({node}) redefines %{node.out.id}")
            if infer is not None:
                expected = infer(node)
                if expected != node.out.aval:
                    raise GraphValidationError(
                        f"node {index} ({node}) records {node.out.aval} but its op gives {expected}")
            defined.add(node.out)
        for var in self.outputs:
            if var not in defined:
                raise GraphValidationError(f"output %{var.id} is never defined")
        return self

