"""The CPU device: numpy kernels, always present. Registered through the public hooks."""
from __future__ import annotations

import numpy as np

from ...core.device import DeviceSpec, KernelSpec
from ...core.hookspecs import hookimpl
from ..array_kernels import kernels_for

DEVICE = DeviceSpec(name="cpu", aliases=("CPU",), present=True, array_module=np,
                    to_device=np.asarray, to_host=np.asarray)


@hookimpl
def hograd_devices():
    return [DEVICE]


@hookimpl
def hograd_kernels():
    return [KernelSpec(op=name, device=DEVICE.name, fn=fn) for name, fn in kernels_for(np).items()]
