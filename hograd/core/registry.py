"""The registry: every op, device and kernel the loaded plugins supplied, and who supplied it.

Built once, lazily, by calling each plugin's hooks; looked up by name with errors that say what
exists instead. Compiled graphs resolve their kernels here once, not on every run.
"""
from __future__ import annotations

import difflib
import threading
import warnings
from typing import Any, Callable

from .device import DeviceSpec, KernelSpec
from .errors import (DeviceAbsentError, MissingKernelError, PluginError, UnknownDeviceError,
                     UnknownOpError)
from .opdef import OpDef
from .loader import PluginRecord, fail, load_order, make_plugin_manager


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
        # (op, device) whose kernel takes out= (KernelSpec.writes_into)
        self.writing_kernels: set[tuple[str, str]] = set()
        self.kernel_provider: dict[tuple[str, str], str] = {}
        self.specs: dict[str, Any] = {}
        self.spec_provider: dict[str, str] = {}
        self.plugins: list[PluginRecord] = []
        # lower-case function name -> the op that holds it
        self.function_owner: dict[str, str] = {}
        # (plugin, what it replaced), in load order
        self.overrides: list[tuple[str, str]] = []
        # core role (core/roles.py) -> the op that fills it
        self.roles: dict[str, OpDef] = {}
        self._factory_kernels: dict[tuple[str, str], Callable] = {}

    def copy(self) -> "Registry":
        """An independent registry with the same contents (tests add ops to a copy)."""
        clone = Registry()
        for name, value in vars(self).items():
            setattr(clone, name, value.copy() if isinstance(value, (dict, list, set)) else value)
        return clone

    # ---- building -------------------------------------------------------------------------
    @property
    def functions(self) -> dict[str, OpDef]:
        """Ops by their lower-case function name (``sin``, ``reduce_sum``), built on demand."""
        if self._functions is None:
            self._functions = {name: self.ops[op] for name, op in self.function_owner.items()}
        return self._functions

    def add_op(self, op: OpDef, provider: str) -> None:
        """Register ``op`` under its name, aliases and function name.

        A name, alias or function name another plugin holds is refused (``PluginError``) unless
        the op sets ``override=True``; an override is recorded in ``self.overrides``."""
        names = (op.name, *op.aliases)
        held = [(f"op {name!r}", self.op_provider[name]) for name in names if name in self.ops]
        owner = self.function_owner.get(op.functional_name)
        if owner is not None and owner not in names:
            held.append((f"function name {op.functional_name!r} (of op {owner!r})",
                         self.op_provider[owner]))
        if held and not op.override:
            what, by = held[0]
            raise PluginError(f"{what} from plugin {provider!r} is already registered by "
                              f"plugin {by!r}; nothing is replaced unless the plugin's OpDef "
                              f"sets override=True")
        for what, by in held:
            self.overrides.append((provider, f"{what} (was from plugin {by!r})"))
        # an op taken over is taken over whole: its other names and roles follow
        replaced = {id(self.ops[name]) for name in names if name in self.ops}
        for name, held_op in list(self.ops.items()):
            if id(held_op) in replaced:
                self.ops[name] = op
                self.op_provider[name] = provider
        for role_name, held_op in list(self.roles.items()):
            if id(held_op) in replaced:
                self.roles[role_name] = op
        self._functions = None
        for name in names:
            self.ops[name] = op
            self.op_provider[name] = provider
        self.function_owner[op.functional_name] = op.name
        for role_name in op.roles:
            from .roles import ROLES
            if role_name not in ROLES:
                raise PluginError(f"op {op.name!r} from plugin {provider!r} claims unknown role "
                                  f"{role_name!r}; core's roles are {', '.join(ROLES)}")
            holder = self.roles.get(role_name)
            if holder is not None and holder.name != op.name and not op.override:
                raise PluginError(f"op {op.name!r} from plugin {provider!r} claims role "
                                  f"{role_name!r}, which op {holder.name!r} of plugin "
                                  f"{self.op_provider[holder.name]!r} fills; set override=True "
                                  f"to take it over")
            self.roles[role_name] = op
        if op.checks is not None:  # an op's checks are part of its record
            self.specs[op.name] = op.checks
            self.spec_provider[op.name] = provider

    def add_device(self, device: DeviceSpec, provider: str) -> None:
        for alias in (device.name, *device.aliases):
            key = alias.lower()
            if self._device_names.get(key, device.name) != device.name:
                raise PluginError(f"device name {alias!r} from plugin {provider!r} is already used "
                                  f"by device {self._device_names[key]!r}")
        if device.name in self.devices:
            by = self.device_provider[device.name]
            if not device.override:
                raise PluginError(f"device {device.name!r} from plugin {provider!r} is already "
                                  f"declared by plugin {by!r}; nothing is replaced unless the "
                                  f"plugin's DeviceSpec sets override=True")
            self.overrides.append((provider, f"device {device.name} (was from plugin {by!r})"))
        for alias in (device.name, *device.aliases):
            self._device_names[alias.lower()] = device.name
        self.devices[device.name] = device
        self.device_provider[device.name] = provider

    def add_kernel(self, kernel: KernelSpec, provider: str) -> None:
        if kernel.op not in self.ops:
            raise PluginError(f"plugin {provider!r} gives a kernel for unknown op {kernel.op!r}")
        if kernel.device not in self.devices:
            raise PluginError(f"plugin {provider!r} gives a kernel for unknown device "
                              f"{kernel.device!r}")
        key = (self.ops[kernel.op].name, kernel.device)
        if key in self.kernels:
            by = self.kernel_provider[key]
            if not kernel.override:
                raise PluginError(f"kernel {key[0]}@{key[1]} from plugin {provider!r} is already "
                                  f"given by plugin {by!r}; nothing is replaced unless the "
                                  f"plugin's KernelSpec sets override=True")
            self.overrides.append((provider, f"kernel {key[0]}@{key[1]} (was from plugin "
                                             f"{by!r})"))
        self.kernels[key] = kernel.fn
        self.kernel_provider[key] = provider
        if kernel.writes_into:
            self.writing_kernels.add(key)
        else:
            self.writing_kernels.discard(key)

    def add_spec(self, spec, provider: str) -> None:
        """Checks for another plugin's op (an op's own come in its record, ``OpDef.checks``)."""
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

    def role(self, name: str) -> OpDef:
        """The op filling core role ``name`` (core/roles.py)."""
        op = self.roles.get(name)
        if op is None:
            raise PluginError(f"no loaded op fills core's role {name!r}; hograd's own op plugin "
                              f"(builtin_ops) gives every role: is it disabled or broken?")
        return op

    def device(self, target: str, *, require_present: bool = True) -> DeviceSpec:
        """Resolve a device target, case-insensitively and through aliases."""
        if not isinstance(target, str):
            raise UnknownDeviceError(f"device_target must be a string, got {type(target).__name__}")
        name = self._device_names.get(target.lower())
        if name is None:
            known = ", ".join(f"{d.name} ({'/'.join(d.aliases) or d.name})"
                              for d in sorted(self.devices.values(), key=lambda d: d.name))
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


# what `hograd plugins` and the reports name as the provider of core's own ops
CORE_PROVIDER = "hograd.core"

# each hook, in the order the registry takes them, with what takes its items
HOOKS = (("hograd_ops", Registry.add_op), ("hograd_devices", Registry.add_device),
         ("hograd_kernels", Registry.add_kernel), ("hograd_op_specs", Registry.add_spec))


def _build() -> Registry:
    """Every loaded plugin's ops, devices, kernels and specs, in a fixed plugin order.

    A plugin that fails in any hook (an exception, an invalid item, a name it may not take)
    registers nothing at all: the registry is built again without it, until every plugin left
    succeeds. Devices of a failed plugin are then declared absent, with the failure as reason.
    """
    manager, records = make_plugin_manager()
    by_name = {r.name: r for r in records}
    order = {name: i for i, name in enumerate(sorted(by_name, key=load_order))}
    left_out: dict[str, tuple[str, Exception]] = {}
    while True:
        reg, failure = _build_without(manager, by_name, order, left_out)
        if failure is None:
            break
        name, message, err = failure
        left_out[name] = (message, err)
        fail(by_name[name], message, err)  # raises for hograd's own ops and cpu, or when strict
    reg.plugins = records
    for name, (message, _) in left_out.items():
        _declare_absent(reg, manager, name, message)
    for provider, what in reg.overrides:
        by_name[provider].overrides.append(what)
        warnings.warn(f"hograd plugin {provider!r} overrides {what}", RuntimeWarning,
                      stacklevel=3)
    return reg


def _build_without(manager, by_name: dict, order: dict, left_out: dict):
    """A registry from every plugin not left out, or the first plugin that failed and why."""
    from .cell_call import CELL_CALL
    from .tracer_ops import TRACER_OPS
    reg = Registry()
    for op in TRACER_OPS + CELL_CALL:  # the tracer's own ops come before any plugin's
        reg.add_op(op, CORE_PROVIDER)
    provided: dict[str, dict[str, list[str]]] = {}
    for hook, add in HOOKS:
        impls = sorted(getattr(manager.hook, hook).get_hookimpls(),
                       key=lambda impl: order.get(impl.plugin_name, len(order)))
        for impl in impls:
            if impl.plugin_name in left_out:
                continue
            try:
                items = list(impl.function() or ())
                for item in items:
                    add(reg, item, impl.plugin_name)
            except Exception as err:
                if impl.plugin_name not in by_name:
                    raise
                return reg, (impl.plugin_name, f"{hook}: {type(err).__name__}: {err}", err)
            provided.setdefault(impl.plugin_name, {}).setdefault(
                hook.removeprefix("hograd_"), []).extend(_describe(i) for i in items)
    for name, record in by_name.items():
        record.provided = provided.get(name, {})
        record.overrides = []
    return reg, None


def _declare_absent(reg: Registry, manager, plugin: str, reason: str) -> None:
    """The devices a failed plugin declares, registered absent so that users learn why."""
    for impl in manager.hook.hograd_devices.get_hookimpls():
        if impl.plugin_name != plugin:
            continue
        try:
            devices = list(impl.function() or ())
        except Exception:
            return
        for device in devices:
            if isinstance(device, DeviceSpec) and device.name not in reg.devices:
                try:
                    reg.add_device(device.model_copy(update={
                        "present": False,
                        "absent_reason": f"its plugin {plugin!r} failed: {reason}"}), plugin)
                except PluginError:
                    continue


def _describe(item: Any) -> str:
    if isinstance(item, KernelSpec):
        return f"{item.op}@{item.device}"
    return getattr(item, "name", None) or getattr(item, "op", None) or repr(item)
