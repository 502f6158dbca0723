"""The Ascend NPU device through torch_npu: the shared array-API kernels bound to torch.

The device is declared on every machine; it is present when ``torch_npu`` imports and reports
an NPU, and absent with the reason otherwise. NPUs compute in float32 at most, so the
capability checks compare them with the CPU's float64 results.
"""
from __future__ import annotations

import importlib.util

import numpy as np

from ... import dtype as dt
from ...core.device import DeviceSpec
from ...core.hookspecs import hookimpl
from ..array_kernels import device_kernels


def probe():
    """``(torch, None)`` when an NPU is usable, else ``(None, why not)``."""
    if importlib.util.find_spec("torch_npu") is None:
        # decided without importing torch, which alone takes a second
        return None, "torch_npu is not installed; it needs an Ascend NPU machine with CANN"
    try:
        import torch
        import torch_npu  # noqa: F401  (registers the "npu" device with torch)
    except Exception as err:  # installed but broken (a missing CANN library): say what failed
        return None, f"torch_npu failed to load: {type(err).__name__}: {err}"
    try:
        available = torch.npu.is_available()
    except Exception as err:
        return None, f"torch_npu imports but cannot query NPUs: {type(err).__name__}: {err}"
    return (torch, None) if available else (None, "torch_npu imports but reports no NPU")


def torch_kernels(device: str, torch) -> list:
    """Kernels for ``device``: array-API code on array-api-compat's torch namespace."""
    from array_api_compat import torch as xp
    return device_kernels(device, xp, {
        "Erf": torch.special.erf, "Erfc": torch.special.erfc,
        "Einsum": lambda *arrays, equation: torch.einsum(equation, *arrays)})


def torch_device_spec(name: str, torch, where: str, *, aliases=(), dtypes=None) -> DeviceSpec:
    """A device whose arrays are torch tensors on ``where`` ("npu", or "cpu" for tests)."""
    return DeviceSpec(
        name=name, aliases=tuple(aliases), present=True,
        dtypes=tuple(dtypes or dt.ALL),
        to_device=lambda array: torch.from_numpy(np.array(array, copy=True, order="C")).to(where),
        to_host=lambda tensor: tensor.detach().cpu().numpy(),
    )


def _absent(_array):
    raise RuntimeError("the ascend device is absent on this machine")


TORCH, ABSENT_REASON = probe()
NPU_DTYPES = (dt.float16, dt.float32, dt.int32, dt.int64, dt.bool_)

DEVICE = (torch_device_spec("ascend", TORCH, "npu", aliases=("Ascend", "npu"), dtypes=NPU_DTYPES)
          if TORCH is not None else
          DeviceSpec(name="ascend", aliases=("Ascend", "npu"), present=False,
                     absent_reason=ABSENT_REASON, dtypes=NPU_DTYPES, to_device=_absent,
                     to_host=_absent))


@hookimpl
def hograd_devices():
    return [DEVICE]


@hookimpl
def hograd_kernels():
    return torch_kernels("ascend", TORCH) if TORCH is not None else []
