"""Running a Python function as a compiled graph: trace once per input signature, then replay.

``GRAPH_MODE`` Cells and ``@jit`` functions share this: the first call with a signature traces
the function, compiles its simplified graph and caches it beside any earlier variant; later
calls run the compiled graph (retracing when a recorded guard fails).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from .cache import VariantCache
from .context import current_device
from .dispatch import compute
from .errors import GuardFailure, HogradError
from .executor import Executable, compile_graph
from .ir import Graph
from .pytree import flatten, signature, tensor_type, tensors_only_structure, unflatten
from .registry import registry
from .staging import stage_with_structure
from .trace import Trace


def call_compiled(cache: VariantCache, fn: Callable, args: tuple, kwargs: dict) -> Any:
    """``fn(*args, **kwargs)``, computed by the graph cached in ``cache`` for this signature."""
    tensor = tensor_type()
    if not kwargs and all(type(a) is tensor for a in args):
        # the common call, tensors only: keyed by the count, its structure made only for a
        # build (hashing the structure hashes a marker per tensor; an int never equals one)
        leaves, structure = list(args), None
        shape_key: Any = len(args)
    else:
        leaves, structure = flatten((args, kwargs))
        shape_key = structure
    device = leaves[0]._device if leaves else current_device()
    key = (shape_key, signature(leaves), device.name)

    def build():
        closed, out_structure = stage_with_structure(
            lambda a, kw: fn(*a, **kw), leaves,
            tensors_only_structure(len(leaves)) if structure is None else structure)
        graph = closed.graph
        return compile_graph(graph, device), closed.captured, out_structure, graph.outputs

    def run(variant):
        executable, captured, out_structure, out_vars = variant
        arrays = run_executable(executable, [t._data for t in leaves] +
                                [t._data for t in captured])
        traced = tensor_type()._traced
        outputs = [traced(a, v.aval, device, None, None)
                   for a, v in zip(arrays, out_vars)]
        return unflatten(out_structure, outputs)

    return cache.call(key, run, build)


def run_executable(executable: Executable, arrays: Sequence[Any]) -> list[Any]:
    """``executable(arrays)``, with a failing kernel named as the dispatcher names it.

    A trace computes only the values something reads (``core/deferred.py``), so a kernel that
    cannot compute a traced value, or breaks its op's shape rule, may first meet it here. The
    executor runs kernels bare; so a kernel that raises, or a first run whose outputs are not of
    the graph's shapes and dtypes, has the graph evaluated again op by op with the dispatcher's
    checks, which raise the error naming the op, its inputs and its kernel's plugin."""
    try:
        outputs = executable(arrays)
    except (HogradError, GuardFailure):
        raise
    except Exception:
        _evaluate_checked(executable.graph, executable.device, arrays)
        raise  # the checked evaluation did not fail: the executor's own error stands
    if not executable.outputs_checked:
        if any(_array_aval(array) != (var.aval.shape, var.aval.dtype.name)
               for array, var in zip(outputs, executable.graph.outputs)):
            _evaluate_checked(executable.graph, executable.device, arrays)
        executable.outputs_checked = True
    return outputs


def _array_aval(array: Any) -> tuple:
    return tuple(getattr(array, "shape", ())), str(getattr(array, "dtype", "?")).rsplit(".", 1)[-1]


def _evaluate_checked(graph: Graph, device, arrays: Sequence[Any]) -> None:
    """Evaluate ``graph`` node by node through the dispatcher's checks, for their errors.

    Run as a trace computes values (kernels with effects hold them back: Assign, Print), and
    stopped quietly by a guard, which is the executor's to report."""
    reg = registry()
    env = dict(zip(graph.inputs, arrays))
    context = lambda: "while running a compiled graph"  # noqa: E731
    with Trace():
        for node in graph.nodes:
            try:
                env[node.out] = compute(reg.op(node.op), device, node.attr_dict, node.out.aval,
                                        [v.aval for v in node.inputs], context,
                                        *[env[v] for v in node.inputs])
            except GuardFailure:
                return
