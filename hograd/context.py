"""Execution context: ``GRAPH_MODE`` or ``PYNATIVE_MODE``, and the device new tensors live on.

>>> from hograd import context
>>> context.set_context(mode=context.GRAPH_MODE, device_target="CPU")
"""
from __future__ import annotations

from typing import Any

GRAPH_MODE = 0
PYNATIVE_MODE = 1
_MODE_NAMES = {GRAPH_MODE: "GRAPH_MODE", PYNATIVE_MODE: "PYNATIVE_MODE"}

_state: dict[str, Any] = {"mode": GRAPH_MODE, "device_target": "CPU", "device": None}
_SETTABLE = ("mode", "device_target")


def set_context(**settings: Any) -> None:
    """Set ``mode`` (``GRAPH_MODE`` or ``PYNATIVE_MODE``) and/or ``device_target``.

    ``device_target`` is case-insensitive and may be any device a plugin declares
    (``"CPU"``, ``"GPU"``, ``"Ascend"``, …); an unknown or absent device is an error that says why.
    """
    unknown = sorted(set(settings) - set(_SETTABLE))
    if unknown:
        raise ValueError(f"set_context: unknown setting(s) {unknown}; hograd supports "
                         f"{', '.join(_SETTABLE)}")
    if "mode" in settings:
        mode = settings["mode"]
        if mode not in _MODE_NAMES or isinstance(mode, bool):
            raise ValueError(f"set_context: mode must be context.GRAPH_MODE ({GRAPH_MODE}) or "
                             f"context.PYNATIVE_MODE ({PYNATIVE_MODE}), got {mode!r}")
        _state["mode"] = mode
    if "device_target" in settings:
        from .core.registry import registry
        device = registry().device(settings["device_target"])
        _state["device_target"] = settings["device_target"]
        _state["device"] = device


def get_context(key: str) -> Any:
    """The value of one setting: ``"mode"`` or ``"device_target"``."""
    if key not in _SETTABLE:
        raise ValueError(f"get_context: unknown setting {key!r}; hograd has {', '.join(_SETTABLE)}")
    return _state[key]


def current_mode() -> int:
    return _state["mode"]


def current_device():
    """The ``DeviceSpec`` new tensors are created on."""
    device = _state["device"]
    if device is None:
        from .core.registry import registry
        device = _state["device"] = registry().device(_state["device_target"])
    return device
