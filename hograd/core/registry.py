"""The registry: every op, device and kernel the loaded plugins supplied, and who supplied it.

Built once, lazily, by calling each plugin's hooks; looked up by name with errors that say what
exists instead. Compiled graphs resolve their kernels here once, not on every run.
"""
from __future__ import annotations

import difflib
import threading
from typing import Any, Callable

from .device import DeviceSpec, KernelSpec
from .errors import (DeviceAbsentError, MissingKernelError, PluginError, UnknownDeviceError,
                     UnknownOpError)
from .opdef import OpDef
from .plugins import PluginRecord, fail, make_plugin_manager


class Registry:
    """Ops, devices and kernels by name, each with the plugin that provided it."""

    def __init__(self) -> None:
        self.ops: dict[str, OpDef] = {}
        self._functions: dict[str, OpDef] | None = None
        self.op_provider: dict[str, str] = {}
        self.devices: dict[str, DeviceSpec] = {}
        self.device_provider: dict[str, str] = {}
        self._device_names: dict[str, str] = {}
        self.kernels: dict[tuple[str, str], Callable] = {}
        self.kernel_provider: dict[tuple[str, str], str] = {}
        self.specs: dict[str, Any] = {}
        self.spec_provider: dict[str, str] = {}
        self.plugins: list[PluginRecord] = []
        self._factory_kernels: dict[tuple[str, str], Callable] = {}

    def copy(self) -> "Registry":
        """An independent registry with the same contents (tests add ops to a copy)."""
        clone = Registry()
        for name, value in vars(self).items():
            setattr(clone, name, value.copy() if isinstance(value, (dict, list)) else value)
        return clone

    # ---- building -------------------------------------------------------------------------
    @property
    def functions(self) -> dict[str, OpDef]:
        """Ops by their lower-case function name (``sin``, ``reduce_sum``), built on demand."""
        if self._functions is None:
            self._functions = {op.functional_name: op for op in self.ops.values()}
        return self._functions

    def add_op(self, op: OpDef, provider: str) -> None:
        self._functions = None
        for name in (op.name, *op.aliases):
            if name in self.ops:
                raise PluginError(f"op {name!r} from plugin {provider!r} is already registered by "
                                  f"plugin {self.op_provider[name]!r}")
            self.ops[name] = op
            self.op_provider[name] = provider

    def add_device(self, device: DeviceSpec, provider: str) -> None:
        for alias in (device.name, *device.aliases):
            key = alias.lower()
            if self._device_names.get(key, device.name) != device.name:
                raise PluginError(f"device name {alias!r} from plugin {provider!r} is already used "
                                  f"by device {self._device_names[key]!r}")
            self._device_names[key] = device.name
        self.devices[device.name] = device
        self.device_provider[device.name] = provider

    def add_kernel(self, kernel: KernelSpec, provider: str) -> None:
        if kernel.op not in self.ops:
            raise PluginError(f"plugin {provider!r} gives a kernel for unknown op {kernel.op!r}")
        if kernel.device not in self.devices:
            raise PluginError(f"plugin {provider!r} gives a kernel for unknown device "
                              f"{kernel.device!r}")
        name = self.ops[kernel.op].name
        self.kernels[(name, kernel.device)] = kernel.fn
        self.kernel_provider[(name, kernel.device)] = provider

    def add_spec(self, spec, provider: str) -> None:
        if spec.op not in self.ops:
            raise PluginError(f"plugin {provider!r} gives a check spec for unknown op {spec.op!r}")
        name = self.ops[spec.op].name
        if name in self.specs:
            raise PluginError(f"op {name!r} already has a check spec from plugin "
                              f"{self.spec_provider[name]!r}; plugin {provider!r} gives another")
        self.specs[name] = spec
        self.spec_provider[name] = provider

    # ---- lookups ----------------------------------------------------------------------------
    def op(self, name: str) -> OpDef:
        """The op registered under ``name`` (or an alias); a clear error with suggestions."""
        try:
            return self.ops[name]
        except KeyError:
            close = difflib.get_close_matches(name, self.ops, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UnknownOpError(f"no op named {name!r} is registered{hint}") from None

    def device(self, target: str, *, require_present: bool = True) -> DeviceSpec:
        """Resolve a device target, case-insensitively and through aliases."""
        if not isinstance(target, str):
            raise UnknownDeviceError(f"device_target must be a string, got {type(target).__name__}")
        name = self._device_names.get(target.lower())
        if name is None:
            known = ", ".join(f"{d.name} ({'/'.join(d.aliases) or d.name})"
                              for d in self.devices.values())
            raise UnknownDeviceError(f"unknown device target {target!r}; registered devices: "
                                     f"{known}. Install the plugin that provides it.")
        device = self.devices[name]
        if require_present and not device.present:
            raise DeviceAbsentError(f"device {device.name!r} is registered but absent on this "
                                    f"machine: {device.absent_reason}")
        return device

    def kernel(self, op_name: str, device: str) -> Callable:
        """The callable computing ``op_name`` on ``device``."""
        op = self.op(op_name)
        key = (op.name, device)
        fn = self.kernels.get(key)
        if fn is not None:
            return fn
        if op.kernel_factory is not None:
            fn = self._factory_kernels.get(key)
            if fn is None:
                fn = self._factory_kernels[key] = op.kernel_factory(self.devices[device])
            return fn
        having = sorted(d for (o, d) in self.kernels if o == op.name)
        raise MissingKernelError(
            f"op {op.name!r} has no kernel on device {device!r}; devices with a kernel for it: "
            f"{', '.join(having) or 'none'}. The op is provided by plugin "
            f"{self.op_provider[op.name]!r}; select one of those devices with "
            f"context.set_context(device_target=...) or install a plugin with a {device} kernel.")


_lock = threading.RLock()
_registry: Registry | None = None
_building = False


def registry() -> Registry:
    """The process-wide registry, built from the plugins on first use."""
    global _registry, _building
    if _registry is None:
        with _lock:
            if _building:
                raise PluginError("a plugin asked for the registry while it is being built; "
                                  "plugins must not use ops or devices at import time")
            if _registry is None:
                _building = True
                try:
                    _registry = _build()
                finally:
                    _building = False
    return _registry


def _build() -> Registry:
    manager, records = make_plugin_manager()
    reg = Registry()
    reg.plugins = records
    by_name = {r.name: r for r in records}
    for hook, add in (("hograd_ops", reg.add_op), ("hograd_devices", reg.add_device),
                      ("hograd_kernels", reg.add_kernel), ("hograd_op_specs", reg.add_spec)):
        for impl in getattr(manager.hook, hook).get_hookimpls():
            record = by_name.get(impl.plugin_name)
            before = reg.copy()
            try:
                items = list(impl.function() or ())
                for item in items:
                    add(item, impl.plugin_name)
            except Exception as err:
                if record is None:
                    raise
                vars(reg).update(vars(before))  # all of a hook's items, or none of them
                fail(record, f"{hook}: {type(err).__name__}: {err}", err)
                continue
            if record is not None:
                record.provided.setdefault(hook.removeprefix("hograd_"), []).extend(
                    _describe(i) for i in items)
    return reg


def _describe(item: Any) -> str:
    if isinstance(item, KernelSpec):
        return f"{item.op}@{item.device}"
    return getattr(item, "name", None) or getattr(item, "op", None) or repr(item)
