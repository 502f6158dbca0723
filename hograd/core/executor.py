"""Compiling a graph into a flat schedule of kernel calls, and running it.

Compilation orders the nodes to hold fewer arrays at once (``schedule.py``), resolves every
kernel once, binds its attributes, folds constant nodes into the initial slot table and numbers
variables as list slots; a run is then one loop of calls with no tracing, no registry lookups
and no attribute handling.
"""
from __future__ import annotations

import functools
import weakref
from typing import Any, Sequence

from .ir import Graph
from .registry import registry
from .schedule import schedule


class Executable:
    """A graph compiled for one device: ``executable(arrays) -> list of output arrays``."""

    __slots__ = ("graph", "device", "_template", "_steps", "_n_inputs", "_outputs")

    def __init__(self, graph: Graph, device) -> None:
        reg = registry()
        slot = {var: index for index, var in enumerate(graph.inputs)}
        template: list[Any] = [None] * len(graph.inputs)
        steps = []
        for node in schedule(graph).nodes:
            slot[node.out] = len(template)
            if node.op == "Constant":
                template.append(device.to_device(node.attr_dict["value"].array))
                continue
            template.append(None)
            kernel = reg.kernel(node.op, device.name)
            if node.attrs:
                kernel = functools.partial(kernel, **node.attr_dict)
            steps.append((kernel, tuple(slot[v] for v in node.inputs), slot[node.out]))
        self.graph = graph
        self.device = device
        self._template = template
        self._steps = _with_releases(steps, len(graph.inputs), {slot[v] for v in graph.outputs})
        self._n_inputs = len(graph.inputs)
        self._outputs = tuple(slot[v] for v in graph.outputs)

    def __call__(self, arrays: Sequence[Any]) -> list[Any]:
        if len(arrays) != self._n_inputs:
            raise ValueError(f"compiled graph takes {self._n_inputs} inputs, got {len(arrays)}")
        env = self._template.copy()
        env[:self._n_inputs] = arrays
        for kernel, inputs, out, released in self._steps:
            env[out] = kernel(*[env[i] for i in inputs])
            for index in released:
                env[index] = None
        return [env[i] for i in self._outputs]


def _with_releases(steps: list, n_inputs: int, outputs: set[int]) -> tuple:
    """Each step with the slots whose last reader it is, cleared right after it (in the run's
    own copy of the slot table), so a long derived graph holds only what is still to be read."""
    last_reader: dict[int, int] = {}
    for position, (_, inputs, _) in enumerate(steps):
        for index in inputs:
            last_reader[index] = position
    released: list[list[int]] = [[] for _ in steps]
    for index, position in last_reader.items():
        if index >= n_inputs and index not in outputs:
            released[position].append(index)
    return tuple((kernel, inputs, out, tuple(free))
                 for (kernel, inputs, out), free in zip(steps, released))


_compiled: "weakref.WeakKeyDictionary[Graph, dict[str, Executable]]" = weakref.WeakKeyDictionary()


def compile_graph(graph: Graph, device) -> Executable:
    """The executable of ``graph`` on ``device``, compiled once and kept while the graph lives."""
    per_device = _compiled.setdefault(graph, {})
    executable = per_device.get(device.name)
    if executable is None:
        executable = per_device[device.name] = Executable(graph, device)
    return executable
