"""Compiling a graph into a flat schedule of kernel calls, and running it.

Compilation orders the nodes to hold fewer arrays at once (``schedule.py``), fuses
elementwise chains on a device with a fuser (``fusion.py``), resolves every kernel once, binds
its attributes, folds constant nodes into the initial slot table, numbers variables as list
slots and plans the buffers that kernels write into (``buffers.py``); a run is then one loop of
calls (a generated straight-line function once its buffers exist) with no tracing, no registry
lookups and no attribute handling. Assignments are written when a run has finished
(``after_run``).
"""
from __future__ import annotations

import functools
import threading
import warnings
import weakref
from typing import Any, Callable, Sequence

from .buffers import plan_buffers
from .fusion import fuse
from .ir import Graph
from .registry import registry
from .schedule import schedule

# buffers are kept between calls only while an executable's set holds at most this many bytes;
# a larger graph allocates per call as before, so big derived graphs do not pin their peak
KEPT_BUFFER_BYTES = 256 * 2 ** 20


class Executable:
    """A graph compiled for one device: ``executable(arrays) -> list of output arrays``.

    On a device whose fuser asks for warm calls (the CPU's numba fuser: compiling takes 0.1–0.3 s
    a group) the graph first runs unfused; the call that ends the warm-up starts compiling the
    fused plan in a background thread, and calls switch to it once it is ready.
    """

    __slots__ = ("graph", "device", "_plan", "_nodes", "_calls", "_fusion", "outputs_checked",
                 "__weakref__")

    def __init__(self, graph: Graph, device) -> None:
        self.graph = graph
        self.device = device
        self._nodes = [node for node in schedule(graph).nodes if node.op != "Constant"]
        self._calls = 0
        # whether a run's outputs have been checked against the graph's shapes and dtypes
        # (core/compiled.run_executable does it once)
        self.outputs_checked = False
        fuser = device.fuser
        # the fusion to come: None (none, or done), or a thread compiling it
        self._fusion: Any = None
        if fuser is not None and fuser.warm_calls == 0:
            self._plan = _fused_or_plain_plan(graph, device, self._nodes)
        else:
            self._plan = _Plan(graph, device, self._nodes, None)
            if fuser is not None:
                self._fusion = "waiting"

    def __call__(self, arrays: Sequence[Any]) -> list[Any]:
        if self._fusion == "waiting":
            self._calls += 1
            if self._calls >= self.device.fuser.warm_calls:
                self._start_fusing()
        return self._plan(arrays)

    def _start_fusing(self) -> None:
        with _fusion_lock:   # two threads ending the warm-up together start one fusion
            if self._fusion != "waiting":
                return
            self._fusion = threading.Thread(target=self._fuse, name="hograd fusion",
                                            daemon=True)
            _fusing.add(self._fusion)
        self._fusion.start()

    def _fuse(self) -> None:
        try:
            plan = _fused_or_plain_plan(self.graph, self.device, self._nodes)
            if plan.fused:   # a graph without groups keeps its plan and the buffers it holds
                self._plan = plan
        finally:
            _fusing.discard(threading.current_thread())

    def wait_for_fusion(self, timeout: float | None = None) -> bool:
        """Start fusing now if it has not started, wait for it; whether the fused plan runs."""
        if self._fusion == "waiting":
            self._start_fusing()
        if isinstance(self._fusion, threading.Thread):
            self._fusion.join(timeout)
        return self._plan.fused

    # what tests read of the running plan
    @property
    def _steps(self):
        return self._plan.steps

    @property
    def _outputs(self):
        return self._plan.outputs

    @property
    def _n_buffers(self):
        return self._plan.n_buffers

    @property
    def _buffer_sets(self):
        return self._plan.buffer_sets


def _fused_or_plain_plan(graph: Graph, device, nodes: list) -> "_Plan":
    """The fused plan; the unfused one, with a warning, where the fuser fails to compile a
    group (a device's compiler or toolkit problem must not stop the graph from running)."""
    try:
        return _Plan(graph, device, nodes, device.fuser)
    except Exception as err:
        warnings.warn(f"device {device.name}: fusing a graph failed, it runs unfused "
                      f"({type(err).__name__}: {err})", RuntimeWarning, stacklevel=2)
        return _Plan(graph, device, nodes, None)


_fusing: set = set()
_fusion_lock = threading.Lock()
_runs = threading.local()


def after_run(write: Callable[[], None]) -> None:
    """Do ``write`` once the graph running now has finished (at once outside a run). A run
    that fails a guard is retraced and run again: a Parameter assigned before that guard would
    otherwise be assigned twice (p ← p·x applied to its own result)."""
    pending = getattr(_runs, "pending", None)
    if pending is None:
        write()
    else:
        pending.append(write)



def wait_for_fusions(timeout: float | None = None) -> None:
    """Wait until the graphs being fused in the background run fused (benchmarks call this
    after warming up, as one waits for a JIT's compiler)."""
    for thread in list(_fusing):
        thread.join(timeout)


class _Plan:
    """One way to run a graph: its steps (fused or not), buffers and generated steady run."""

    __slots__ = ("fused", "template", "steps", "n_inputs", "outputs", "n_buffers",
                 "buffer_sets", "keep_buffers", "buffer_avals", "steady")

    def __init__(self, graph: Graph, device, nodes: list, fuser) -> None:
        reg = registry()
        fused: dict = {}
        if fuser is not None:
            nodes, fused = fuse(nodes, graph.outputs, lambda node: reg.op(node.op).elementwise,
                                fuser, lambda node: reg.op(node.op).fused_reduction)
        self.fused = bool(fused)
        writing = {node.out for node in nodes
                   if node.out in fused
                   or (reg.op(node.op).name, device.name) in reg.writing_kernels}
        buffers, self.n_buffers = plan_buffers(
            nodes, graph.outputs, writes_into=lambda node: node.out in writing,
            keeps_inputs=lambda node: node.out not in fused and _keeps_inputs(reg, node))
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
        self.template = template
        self.n_inputs = len(graph.inputs)
        self.steps = _with_releases(steps, self.n_inputs, {slot[v] for v in graph.outputs})
        self.outputs = tuple(slot[v] for v in graph.outputs)
        self.buffer_avals = [None] * self.n_buffers
        buffer_bytes = [0] * self.n_buffers
        for node, buffer in zip(nodes, buffers):
            if buffer is not None:
                self.buffer_avals[buffer] = (node.out.aval.shape, node.out.aval.dtype.name)
                buffer_bytes[buffer] = node.out.aval.size * max(node.out.aval.dtype.bits // 8, 1)
        self.keep_buffers = sum(buffer_bytes) <= KEPT_BUFFER_BYTES
        # sets of buffers not in use by a call, each with whether all its buffers exist; a call
        # takes one (or starts an empty one, its buffers made by the kernels' first results),
        # so concurrent calls never share one
        self.buffer_sets: list[tuple[list[Any], bool]] = []
        # generated for the second call (a first call is often the only one)
        self.steady = None

    def __call__(self, arrays: Sequence[Any]) -> list[Any]:
        if len(arrays) != self.n_inputs:
            raise ValueError(f"compiled graph takes {self.n_inputs} inputs, got {len(arrays)}")
        if getattr(_runs, "pending", None) is not None:   # inside another graph's run
            return self._run(arrays)
        _runs.pending = pending = []
        try:
            outputs = self._run(arrays)
        finally:
            _runs.pending = None
        for write in pending:
            write()
        return outputs

    def _run(self, arrays: Sequence[Any]) -> list[Any]:
        sets = self.buffer_sets
        try:
            kept, complete = sets.pop()
        except IndexError:   # none free (another thread may take the last one first)
            kept, complete = [None] * self.n_buffers, False
        if complete and len(self.steps) <= _GENERATED_STEPS:
            if self.steady is None:
                self.steady = _steady_function(self.steps, self.n_inputs, self.template,
                                               self.outputs, self.n_buffers)
            outputs = self.steady(arrays, kept)
        else:
            outputs = self._run_seeding(arrays, kept)
            complete = all(buffer is not None for buffer in kept)
        if self.keep_buffers:
            sets.append((kept, complete))
        return outputs

    def _run_seeding(self, arrays: Sequence[Any], kept: list[Any]) -> list[Any]:
        """A run that makes the buffers still missing from ``kept`` of its kernels' results."""
        env = self.template.copy()
        env[:self.n_inputs] = arrays
        for kernel, inputs, out, buffer, released in self.steps:
            if buffer is None:
                env[out] = kernel(*[env[i] for i in inputs])
            elif kept[buffer] is None:
                env[out] = result = kernel(*[env[i] for i in inputs])
                kept[buffer] = _as_buffer(result, self.buffer_avals[buffer])
            else:
                env[out] = kernel(*[env[i] for i in inputs], out=kept[buffer])
            for index in released:
                env[index] = None
        return [env[i] for i in self.outputs]


def _as_buffer(array: Any, aval: tuple) -> Any:
    """A kernel's first result as the buffer later values of ``aval`` (shape, dtype name) are
    written into: itself when C-contiguous and writeable, else a C-ordered copy (numpy's
    elementwise results follow their inputs' layout, and kernels write through reshapes of
    their ``out``, views only of a C-ordered array); None when it is not of ``aval``."""
    if tuple(array.shape) != aval[0] or array.dtype.name != aval[1]:
        return None
    flags = array.flags
    return array if flags.c_contiguous and flags.writeable else array.copy(order="C")


def _keeps_inputs(reg, node) -> bool:
    """Whether a node may hold on to its inputs after the call: an effect, or a node running a
    graph of its own (a Cell with a bprop: ``CellCall``) that holds one (an assignment there
    stores the outer value in a Parameter)."""
    if reg.op(node.op).effect:
        return True
    return any(isinstance(value, Graph) and any(_keeps_inputs(reg, inner) for inner in value.nodes)
               for _, value in node.attrs)


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
        kernel = device.fuser.compile(expression)
        with _fusion_lock:   # fusion threads of several graphs meet here
            _groups[key] = kernel
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
