"""The memory plan of a compiled graph: which values a kernel writes into a kept buffer.

A step whose kernel can fill a given array (``KernelSpec.writes_into``) gets a buffer id; values
whose lifetimes do not overlap share a buffer of their (shape, dtype). The executable keeps the
buffers from call to call, so a steady call allocates nothing for those values: on the CPU a new
array of 128 KiB or more is a fresh ``mmap`` that page-faults in as it is written, which cost
more than the arithmetic in small graphs.

A value's buffer stays busy until the last reader of the value *and of every value that may
view it*: a kernel that does not write into a buffer (Reshape, a transpose, a plugin's kernel)
may return a view of its input, so its result is taken to alias each input's buffer. A buffer is
never planned for a value that leaves the call, even through such views: the graph's outputs and
what effects keep (an assignment stores its input in a Parameter).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Callable, Sequence

from .ir import Node, Var


def plan_buffers(nodes: Sequence[Node], outputs: Sequence[Var],
                 writes_into: Callable[[Node], bool],
                 keeps_inputs: Callable[[Node], bool]) -> tuple[list[int | None], int]:
    """``(buffer id or None per node, number of buffers)`` for running ``nodes`` in order.

    ``writes_into(node)``: its kernel takes ``out=``. ``keeps_inputs(node)``: it may hold on to
    its inputs after the call (effects), so they must not live in a reused buffer.
    """
    # the planned values each value may be a view of
    viewed: dict[Var, frozenset[Var]] = {}
    for node in nodes:
        if writes_into(node):
            viewed[node.out] = frozenset((node.out,))
        else:
            viewed[node.out] = frozenset().union(*(viewed.get(v, ()) for v in node.inputs))
    leaving: set[Var] = set()
    for var in outputs:
        leaving |= viewed.get(var, frozenset())
    for node in nodes:
        if keeps_inputs(node):
            for var in node.inputs:
                leaving |= viewed.get(var, frozenset())
    position = {node.out: index for index, node in enumerate(nodes)}
    last_read = dict(position)
    for index, node in enumerate(nodes):
        for var in node.inputs:
            for base in viewed.get(var, ()):
                last_read[base] = index

    free: dict[tuple, list[int]] = defaultdict(list)
    freed_after: dict[int, list[tuple[tuple, int]]] = defaultdict(list)
    assignment: list[int | None] = [None] * len(nodes)
    count = 0
    for index, node in enumerate(nodes):
        var = node.out
        if writes_into(node) and var not in leaving and var.aval.size:
            key = (var.aval.shape, var.aval.dtype)
            if free[key]:
                buffer = free[key].pop()
            else:
                buffer, count = count, count + 1
            assignment[index] = buffer
            freed_after[last_read[var]].append((key, buffer))
        # a buffer is free for the steps after its last reader, never for that reader's own
        # output: not every writing kernel may overlap its input and its output
        for key, buffer in freed_after.pop(index, ()):
            free[key].append(buffer)
    return assignment, count
