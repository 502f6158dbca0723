"""What a device plugin declares: a device, whether it is usable here, and how arrays reach it."""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
from pydantic import BaseModel, ConfigDict

from .. import dtype as dt


class Fuser(BaseModel):
    """How a device runs fused elementwise groups (core/fusion.py) as one kernel each.

    ``compile(expression)`` returns ``kernel(*inputs, out=None)`` computing a
    ``FusedExpression`` (into ``out`` when given, an array of the result's shape and dtype);
    groups are formed only of the ``functions`` it compiles and values of its ``dtypes``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    compile: Callable[[Any], Callable[..., Any]]
    functions: frozenset[str]
    dtypes: tuple[dt.DType, ...] = (dt.float32, dt.float64, dt.bool_)
    # calls a graph runs unfused before its groups are compiled, in a background thread
    # (0: compiled with the graph, before its first run)
    warm_calls: int = 0
    # groups whose result has fewer elements run unfused: a kernel call costs what it saves
    min_size: int = 0
    # the reductions (an op's ``fused_reduction``: "sum") a group may end in; the expression's
    # ``reduce_axes`` then say which axes of its ``shape`` it sums into ``out``
    reductions: frozenset[str] = frozenset()


class DeviceSpec(BaseModel):
    """A device: its name, aliases, presence (and why not), dtypes and transfers.

    ``to_device(numpy_array)`` puts host data on the device; ``to_host(array)`` brings it back.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    name: str
    aliases: tuple[str, ...] = ()
    present: bool = True
    absent_reason: Optional[str] = None
    dtypes: tuple[dt.DType, ...] = dt.ALL
    to_device: Callable[[np.ndarray], Any] = np.asarray
    to_host: Callable[[Any], np.ndarray] = np.asarray
    # fuses elementwise chains into one kernel each; None: every node runs its own kernel
    fuser: Optional[Fuser] = None
    # replace a device of the same name another plugin declares (reported as an override)
    override: bool = False

    def __hash__(self) -> int:
        return hash(self.name)


class KernelSpec(BaseModel):
    """One kernel: ``fn(*arrays, **attrs) -> array`` computing ``op`` on ``device``."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    op: str
    device: str
    fn: Callable[..., Any]
    # fn also takes ``out=``: an array of its result's shape and dtype to fill and return
    # (without it, fn returns a new array); the executor then plans buffers for it that it
    # keeps from call to call (core/buffers.py)
    writes_into: bool = False
    # replace the kernel another plugin gives for this op and device (reported as an override)
    override: bool = False
