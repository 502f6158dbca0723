"""Execution context: ``GRAPH_MODE`` or ``PYNATIVE_MODE``, and the device new tensors live on.

>>> from hograd import context
>>> context.set_context(mode=context.GRAPH_MODE, device_target="CPU")
"""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator

GRAPH_MODE = 0
PYNATIVE_MODE = 1
_MODE_NAMES = {GRAPH_MODE: "GRAPH_MODE", PYNATIVE_MODE: "PYNATIVE_MODE"}

_state: dict[str, Any] = {"mode": GRAPH_MODE, "device_target": "CPU", "device": None}
_SETTABLE = ("mode", "device_target")
# MindSpore settings that mean nothing here (one compiler, no graph dumps, one CPU process):
# accepted, so MindSpore programs run unchanged, and stored so get_context returns them.
# check_bprop: hograd always checks a bprop's gradient count and shapes.
NO_OP_SETTINGS = frozenset({
    "jit_level", "jit_config", "save_graphs", "save_graphs_path", "max_call_depth",
    "pynative_synchronize", "device_id", "check_bprop", "grad_for_scalar", "enable_graph_kernel",
    "graph_kernel_flags", "max_device_memory", "mempool_block_size", "variable_memory_max_size",
    "enable_reduce_precision", "reserve_class_name_in_scope", "print_file_path",
    "env_config_path", "runtime_num_threads", "inter_op_parallel_num", "memory_optimize_level",
    "deterministic", "ascend_config", "gpu_config", "enable_compile_cache", "compile_cache_path",
    "support_binary", "debug_level", "enable_sparse", "enable_dump", "save_dump_path",
    "precompile_only", "op_timeout", "enable_profiling", "auto_tune_mode", "aoe_tune_mode",
})


def set_context(**settings: Any) -> None:
    """Set ``mode`` (``GRAPH_MODE`` or ``PYNATIVE_MODE``) and/or ``device_target``.

    MindSpore's other settings (``jit_level``, ``save_graphs``, ``max_call_depth``,
    ``device_id``, ... : ``NO_OP_SETTINGS``) are accepted and have no effect here.

    ``device_target`` is case-insensitive and may be any device a plugin declares
    (``"CPU"``, ``"GPU"``, ``"Ascend"``, …); an unknown or absent device is an error that says why.
    """
    unknown = sorted(set(settings) - set(_SETTABLE) - NO_OP_SETTINGS)
    if unknown:
        raise ValueError(f"set_context: unknown setting(s) {unknown}; hograd supports "
                         f"{', '.join(_SETTABLE)} (and accepts MindSpore's "
                         f"{', '.join(sorted(NO_OP_SETTINGS))} without effect)")
    _state.update({key: value for key, value in settings.items() if key in NO_OP_SETTINGS})
    if "mode" in settings:
        mode = settings["mode"]
        if mode not in _MODE_NAMES or isinstance(mode, bool):
            raise ValueError(f"set_context: mode must be context.GRAPH_MODE ({GRAPH_MODE}) or "
                             f"context.PYNATIVE_MODE ({PYNATIVE_MODE}), got {mode!r}")
        _state["mode"] = mode
    if "device_target" in settings:
        from .registry import registry
        device = registry().device(settings["device_target"])
        _state["device_target"] = settings["device_target"]
        _state["device"] = device


def get_context(key: str) -> Any:
    """The value of one setting: ``"mode"``, ``"device_target"``, or a no-op MindSpore setting
    (None until set)."""
    if key in NO_OP_SETTINGS:
        return _state.get(key)
    if key not in _SETTABLE:
        raise ValueError(f"get_context: unknown setting {key!r}; hograd has {', '.join(_SETTABLE)}")
    return _state[key]


def current_mode() -> int:
    return _state["mode"]


_local = threading.local()


@contextlib.contextmanager
def device_scope(target: str) -> Iterator[None]:
    """New tensors go to ``target`` inside the block, in this thread only; the global context
    (``set_context``) is left alone. The capability checker runs each device's checks so.

    >>> with context.device_scope("gpu"):
    ...     x = Tensor([1.0])          # on the gpu
    """
    from .registry import registry
    device = registry().device(target)
    previous = getattr(_local, "device", None)
    _local.device = device
    try:
        yield
    finally:
        _local.device = previous


def current_device():
    """The ``DeviceSpec`` new tensors are created on."""
    scoped = getattr(_local, "device", None)
    if scoped is not None:
        return scoped
    device = _state["device"]
    if device is None:
        from .registry import registry
        device = _state["device"] = registry().device(_state["device_target"])
    return device
