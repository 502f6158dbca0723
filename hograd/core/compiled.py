"""Running a Python function as a compiled graph: trace once per input signature, then replay.

``GRAPH_MODE`` Cells and ``@jit`` functions share this: the first call with a signature traces
the function, compiles its simplified graph and caches it beside any earlier variant; later
calls run the compiled graph (retracing when a recorded guard fails).
"""
from __future__ import annotations

from typing import Any, Callable

from .cache import VariantCache
from .context import current_device
from .executor import compile_graph
from .pytree import tensor_type, flatten, signature, unflatten
from .staging import stage_with_structure


def call_compiled(cache: VariantCache, fn: Callable, args: tuple, kwargs: dict) -> Any:
    """``fn(*args, **kwargs)``, computed by the graph cached in ``cache`` for this signature."""
    leaves, structure = flatten((args, kwargs))
    device = leaves[0]._device if leaves else current_device()
    key = (structure, signature(leaves), device.name)

    def build():
        closed, out_structure = stage_with_structure(lambda a, kw: fn(*a, **kw), leaves,
                                                     structure)
        graph = closed.graph
        return compile_graph(graph, device), closed.captured, out_structure, graph.outputs

    def run(variant):
        executable, captured, out_structure, out_vars = variant
        arrays = executable([t._data for t in leaves] + [t._data for t in captured])
        traced = tensor_type()._traced
        outputs = [traced(a, v.aval, device, None, None)
                   for a, v in zip(arrays, out_vars)]
        return unflatten(out_structure, outputs)

    return cache.call(key, run, build)
