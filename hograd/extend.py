"""Everything a plugin author imports, in one place: ``from hograd.extend import ...``.

An op plugin declares ``OpDef`` records (most through the family helpers ``unary``,
``binary``, ``comparison``), writes backward rules with the op functions ``F`` (hograd ops, so
rules differentiate again), and gives check specs (``spec``, ``sample``, ``x``, ``fixed``). A
device plugin declares a ``DeviceSpec`` and ``KernelSpec``s, usually by binding the shared
array-API kernels (``device_kernels``) to its array namespace. Both mark their hook functions
with ``hookimpl``; ``docs/plugins.md`` walks through each.

>>> from hograd.extend import F, KernelSpec, hookimpl, sample, spec, unary, x
>>> CUBE = unary("Cube", lambda g, out, x: g * 3.0 * x * x, doc="x³")
"""
from __future__ import annotations

from .core.checkspec import OpSpec, Sample, SampleInput, checks, fixed, sample, spec, x
from .core.device import DeviceSpec, Fuser, KernelSpec
from .core.fusion import FUNCTIONS as FUSION_FUNCTIONS, FusedExpression, evaluator
from .core.errors import (KernelContractError, NotDifferentiableError, OpDtypeError,
                          OpInputError, PluginError)
from .core.hookspecs import hookimpl
from .core.ir import AbstractValue
from .core.opdef import DTypeAttr, NotDifferentiable, OpDef, StrictAttrs
from .ops.call import F
from .ops.families import (binary, broadcast_shapes, comparison, normalize_axes, same_dtype,
                           unary)
from .devices.array_kernels import NATIVE_OPS, device_kernels, kernels_for, native_kernels
from .devices.writing_kernels import writing_kernels

__all__ = [
    # declaring ops
    "OpDef", "NotDifferentiable", "StrictAttrs", "DTypeAttr", "AbstractValue", "F",
    "unary", "binary", "comparison", "broadcast_shapes", "same_dtype", "normalize_axes",
    # checking them
    "OpSpec", "Sample", "SampleInput", "spec", "sample", "x", "fixed",
    # devices and kernels
    "DeviceSpec", "KernelSpec", "device_kernels", "kernels_for", "native_kernels", "NATIVE_OPS",
    "writing_kernels",
    # fusing elementwise chains on a device
    "Fuser", "FusedExpression", "FUSION_FUNCTIONS", "evaluator",
    # hooks and errors
    "hookimpl", "OpInputError", "OpDtypeError", "NotDifferentiableError",
    "KernelContractError", "PluginError",
]
