"""Ordering a graph's nodes for running, so that fewer arrays are alive at once.

A graph lists its nodes in the order they were recorded, and that order can hold many large
arrays at once: collapsed Taylor mode records every direction's value of a layer before any of
them is squared (a ``Directions`` is made whole), so a Laplacian holds one batch-sized array per
direction where one would do. Each array first touched costs page faults when the allocator has
handed its memory back, so on CPU the recorded order of a Laplacian ran ~1.4× slower than the
order this module picks.

``schedule`` compares the recorded order with a depth-first one (each value computed just
before its first reader needs it) by the most bytes alive at once, and keeps the smaller. Any
order it returns is a valid evaluation order of the same nodes; effects (guards, prints, random
draws, assignments) keep their order among themselves and run no later than before.
"""
from __future__ import annotations

from .ir import Graph, Node, Var
from .registry import registry


def schedule(graph: Graph) -> Graph:
    """``graph`` with its nodes in the order (recorded or depth-first) holding fewer bytes at
    once; the recorded order on a tie."""
    depth_first = _depth_first(graph)
    return depth_first if peak_bytes(depth_first) < peak_bytes(graph) else graph


def _depth_first(graph: Graph) -> Graph:
    """Each node placed just before its first reader: a depth-first walk from the effects (in
    their order), then the outputs, then any node left (dead code is kept, not judged here)."""
    producer = {node.out: node for node in graph.nodes}
    effects = registry().ops
    placed: set[Var] = set()
    order: list[Node] = []

    def place(var: Var) -> None:
        stack = [(var, False)]
        while stack:
            current, operands_placed = stack.pop()
            node = producer.get(current)
            if node is None or current in placed:
                continue
            if operands_placed:
                placed.add(current)
                order.append(node)
                continue
            stack.append((current, True))
            stack.extend((operand, False) for operand in reversed(node.inputs))

    for node in graph.nodes:
        if effects[node.op].effect:
            place(node.out)
    for var in graph.outputs:
        place(var)
    for node in graph.nodes:
        place(node.out)
    return Graph(graph.inputs, tuple(order), graph.outputs)


def peak_bytes(graph: Graph) -> int:
    """The most bytes of computed arrays alive at once when ``graph`` runs in its order, each
    released after its last reader as the executor does (inputs, outputs and constants are held
    throughout and not counted)."""
    last_reader: dict[Var, int] = {}
    for position, node in enumerate(graph.nodes):
        for var in node.inputs:
            last_reader[var] = position
    held = set(graph.inputs) | set(graph.outputs)
    counted = {node.out for node in graph.nodes if node.op != "Constant"} - held
    alive = peak = 0
    for position, node in enumerate(graph.nodes):
        if node.out in counted:
            alive += _nbytes(node.out)
        peak = max(peak, alive)
        for var in set(node.inputs):
            if var in counted and last_reader[var] == position:
                alive -= _nbytes(var)
    return peak


def _nbytes(var: Var) -> int:
    return var.aval.size * max(var.aval.dtype.bits // 8, 1)
