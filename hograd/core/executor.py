"""Compiling a graph into a flat schedule of kernel calls, and running it.

Compilation orders the nodes to hold fewer arrays at once (``schedule.py``), resolves every
kernel once, binds its attributes, folds constant nodes into the initial slot table, numbers
variables as list slots and plans the buffers that kernels write into (``buffers.py``); a run
is then one loop of calls with no tracing, no registry lookups and no attribute handling.
"""
from __future__ import annotations

import functools
import weakref
from typing import Any, Sequence

from .buffers import plan_buffers
from .fusion import fuse
from .ir import Graph
from .registry import registry
from .schedule import schedule

# buffers are kept between calls only while an executable's set holds at most this many bytes;
# a larger graph allocates per call as before, so big derived graphs do not pin their peak
KEPT_BUFFER_BYTES = 256 * 2 ** 20


class Executable:
    """A graph compiled for one device: ``executable(arrays) -> list of output arrays``."""

    __slots__ = ("graph", "device", "_template", "_steps", "_n_inputs", "_outputs",
                 "_n_buffers", "_buffer_sets", "_keep_buffers", "_buffer_shapes", "_steady")

    def __init__(self, graph: Graph, device) -> None:
        reg = registry()
        nodes = [node for node in schedule(graph).nodes if node.op != "Constant"]
        fused: dict = {}
        if device.fuser is not None:
            nodes, fused = fuse(nodes, graph.outputs, lambda node: reg.op(node.op).elementwise,
                                device.fuser)
        writing = {node.out for node in nodes
                   if node.out in fused
                   or (reg.op(node.op).name, device.name) in reg.writing_kernels}
        buffers, self._n_buffers = plan_buffers(
            nodes, graph.outputs, writes_into=lambda node: node.out in writing,
            keeps_inputs=lambda node: node.out not in fused and reg.op(node.op).effect)
        slot = {var: index for index, var in enumerate(graph.inputs)}
        template: list[Any] = [None] * len(graph.inputs)
        for node in graph.nodes:
            if node.op == "Constant":
                slot[node.out] = len(template)
                template.append(device.to_device(node.attr_dict["value"].array))
        steps = []
        for node, buffer in zip(nodes, buffers):
            slot[node.out] = len(template)
            template.append(None)
            if node.out in fused:
                kernel = _compiled_group(device, fused[node.out])
            else:
                kernel = reg.kernel(node.op, device.name)
            if node.attrs:
                kernel = functools.partial(kernel, **node.attr_dict)
            steps.append((kernel, tuple(slot[v] for v in node.inputs), slot[node.out], buffer))
        self.graph = graph
        self.device = device
        self._template = template
        self._steps = _with_releases(steps, len(graph.inputs), {slot[v] for v in graph.outputs})
        self._n_inputs = len(graph.inputs)
        self._outputs = tuple(slot[v] for v in graph.outputs)
        self._buffer_shapes = [None] * self._n_buffers
        buffer_bytes = [0] * self._n_buffers
        for node, buffer in zip(nodes, buffers):
            if buffer is not None:
                self._buffer_shapes[buffer] = node.out.aval.shape
                buffer_bytes[buffer] = node.out.aval.size * max(node.out.aval.dtype.bits // 8, 1)
        self._keep_buffers = sum(buffer_bytes) <= KEPT_BUFFER_BYTES
        # sets of buffers not in use by a call, each with whether all its buffers exist; a call
        # takes one (or starts an empty one, its buffers made by the kernels' first results),
        # so concurrent calls never share one
        self._buffer_sets: list[tuple[list[Any], bool]] = []
        self._steady = (_steady_function(self._steps, self._n_inputs, template, self._outputs,
                                         self._n_buffers)
                        if len(self._steps) <= _GENERATED_STEPS else None)

    def __call__(self, arrays: Sequence[Any]) -> list[Any]:
        if len(arrays) != self._n_inputs:
            raise ValueError(f"compiled graph takes {self._n_inputs} inputs, got {len(arrays)}")
        sets = self._buffer_sets
        kept, complete = sets.pop() if sets else ([None] * self._n_buffers, False)
        if complete and self._steady is not None:
            outputs = self._steady(arrays, kept)
        else:
            outputs = self._run_seeding(arrays, kept)
            complete = all(buffer is not None for buffer in kept)
        if self._keep_buffers:
            sets.append((kept, complete))
        return outputs

    def _run_seeding(self, arrays: Sequence[Any], kept: list[Any]) -> list[Any]:
        """A run that makes the buffers still missing from ``kept`` of its kernels' results."""
        env = self._template.copy()
        env[:self._n_inputs] = arrays
        for kernel, inputs, out, buffer, released in self._steps:
            if buffer is None:
                env[out] = kernel(*[env[i] for i in inputs])
            elif kept[buffer] is None:
                env[out] = result = kernel(*[env[i] for i in inputs])
                if result.shape == self._buffer_shapes[buffer]:
                    kept[buffer] = result
            else:
                env[out] = kernel(*[env[i] for i in inputs], out=kept[buffer])
            for index in released:
                env[index] = None
        return [env[i] for i in self._outputs]


# graphs up to this many steps get a generated steady-state function; longer ones loop
_GENERATED_STEPS = 5000


def _steady_function(steps: tuple, n_inputs: int, template: list, outputs: tuple,
                     n_buffers: int):
    """The run of a call whose buffers all exist, as one generated Python function: each step a
    line of straight-line code on local variables, without the loop's slot-table reads and
    branches (a third of a small graph's time besides its kernels)."""
    namespace: dict[str, Any] = {}
    constants = {i for i in range(n_inputs, len(template)) if template[i] is not None}
    for index in constants:
        namespace[f"s{index}"] = template[index]
    lines = ["def steady(arrays, kept):"]
    if n_inputs:
        lines.append(f"    {''.join(f's{i}, ' for i in range(n_inputs))}= arrays")
    if n_buffers:
        lines.append(f"    {''.join(f'b{i}, ' for i in range(n_buffers))}= kept")
    for position, (kernel, inputs, out, buffer, released) in enumerate(steps):
        namespace[f"k{position}"] = kernel
        arguments = [f"s{i}" for i in inputs] + ([f"out=b{buffer}"] if buffer is not None else [])
        lines.append(f"    s{out} = k{position}({', '.join(arguments)})")
        freed = [f"s{i}" for i in released if i not in constants]
        if freed:
            lines.append(f"    del {', '.join(freed)}")
    lines.append(f"    return [{', '.join(f's{i}' for i in outputs)}]")
    exec(compile("\n".join(lines), "<hograd steady run>", "exec"), namespace)  # noqa: S102
    return namespace["steady"]


def _with_releases(steps: list, n_inputs: int, outputs: set[int]) -> tuple:
    """Each step with the slots whose last reader it is, cleared right after it (in the run's
    own copy of the slot table), so a long derived graph holds only what is still to be read."""
    last_reader: dict[int, int] = {}
    for position, (_, inputs, _, _) in enumerate(steps):
        for index in inputs:
            last_reader[index] = position
    released: list[list[int]] = [[] for _ in steps]
    for index, position in last_reader.items():
        if index >= n_inputs and index not in outputs:
            released[position].append(index)
    return tuple((kernel, inputs, out, buffer, tuple(free))
                 for (kernel, inputs, out, buffer), free in zip(steps, released))


def _compiled_group(device, expression):
    """The device's kernel of a fused group, compiled once per fuser and expression text."""
    key = (device.fuser.compile, expression.text, expression.inputs, expression.out)
    kernel = _groups.get(key)
    if kernel is None:
        kernel = _groups[key] = device.fuser.compile(expression)
        if len(_groups) > _KEPT_GROUPS:
            del _groups[next(iter(_groups))]   # the oldest compiled
    return kernel


_KEPT_GROUPS = 4096
_groups: dict = {}
_compiled: "weakref.WeakKeyDictionary[Graph, dict[str, Executable]]" = weakref.WeakKeyDictionary()


def compile_graph(graph: Graph, device) -> Executable:
    """The executable of ``graph`` on ``device``, compiled once and kept while the graph lives."""
    per_device = _compiled.setdefault(graph, {})
    executable = per_device.get(device.name)
    if executable is None:
        executable = per_device[device.name] = Executable(graph, device)
    return executable
