"""The hooks through which every op, device and kernel reaches hograd — built-ins included.

A plugin is a module (or object) with functions marked ``@hograd.core.hookspecs.hookimpl``,
named after the specifications below, and advertised in its distribution's metadata under the
entry-point group ``hograd.plugins``::

    # pyproject.toml of a plugin package
    [project.entry-points."hograd.plugins"]
    my_ops = "my_package.hograd_plugin"

hograd's own ops (``hograd.ops.library``) and CPU device (``hograd.devices.cpu``) are registered
the same way, so these hooks are exercised by every run.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import pluggy

if TYPE_CHECKING:  # the hook contracts name these; importing them here would be circular
    from .checkspec import OpSpec
    from .device import DeviceSpec, KernelSpec
    from .opdef import OpDef

PROJECT = "hograd"
ENTRY_POINT_GROUP = "hograd.plugins"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def hograd_ops() -> "Iterable[OpDef]":
    """Return the ops this plugin defines.

    Called once, when hograd first builds its registry. Each item is an ``OpDef``: name, input
    names, attribute schema, shape/dtype rule, one backward rule per input written with hograd
    ops, sample domain. An op name, alias or function name another plugin registered fails
    this plugin (naming both) unless the ``OpDef`` sets ``override=True``.
    """


@hookspec
def hograd_devices() -> "Iterable[DeviceSpec]":
    """Return the devices this plugin declares.

    Called once, when the registry is built. A ``DeviceSpec`` says whether the device is present
    on this machine and, when it is not, why; hograd reports absent devices instead of failing.
    """


@hookspec
def hograd_kernels() -> "Iterable[KernelSpec]":
    """Return kernels: ``KernelSpec(op=..., device=..., fn=...)``.

    ``fn(*arrays, **attrs)`` computes the op on arrays of that device's array module and returns
    one array of the dtype and shape the op's shape rule states. A plugin may supply kernels for
    ops and devices other plugins define; replacing another plugin's kernel for the same op and
    device needs ``override=True``. Called once, after all ops and devices are known.
    """


@hookspec
def hograd_op_specs() -> "Iterable[OpSpec]":
    """Return check specifications for ops of *other* plugins (optional).

    An op's own checks belong in its record (``OpDef(checks=checks(...))``; the family helpers
    give defaults). This hook lets a plugin check an op it does not define: each ``OpSpec``
    names the op and gives sample inputs, the derivative order claimed and expected failures.
    ``hograd capabilities`` runs them on every device; an op without checks is reported as
    unchecked.
    """


def reference_markdown() -> str:
    """The hook reference for plugin authors, generated from the specifications above."""
    import inspect
    import sys
    module = sys.modules[__name__]
    sections = []
    for name in ("hograd_ops", "hograd_devices", "hograd_kernels", "hograd_op_specs"):
        hook = getattr(module, name)
        doc = inspect.cleandoc(hook.__doc__ or "")
        returns = str(hook.__annotations__.get("return", "")).strip("'\"")
        sections.append(f"### `{name}() -> {returns}`\n\n{doc}\n")
    return "\n".join(sections)
