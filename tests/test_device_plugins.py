"""GPU and Ascend kernels are the shared array-API kernels bound per device. On this machine the
GPU kernels run bound to numpy and to array_api_strict (proving they use only the standard) and
the Ascend kernels run on torch CPU tensors: each binding must pass the CPU plugin's checks."""
import math
import re

import array_api_strict
import numpy as np
import pytest
import torch

from hograd import context
from hograd.capabilities.report import build_report
from hograd.core.device import DeviceSpec
from hograd.core.errors import DeviceAbsentError
from hograd.core.registry import registry
from hograd.devices.array_kernels import device_kernels
from hograd.devices.ascend import NPU_DTYPES, torch_device_spec, torch_kernels

ORDER = 3


def _host_function(fn, xp):
    """erf/erfc are not in the array API: compute them on the host (test bindings only)."""
    vectorized = np.vectorize(fn, otypes=[np.float64])
    return lambda a: xp.asarray(vectorized(np.asarray(a)).astype(np.asarray(a).dtype))


def _bind(reg, device: DeviceSpec, kernels) -> str:
    reg.add_device(device, "test-suite")
    for kernel in kernels:
        reg.add_kernel(kernel, "test-suite")
    return device.name


def _assert_same_verdicts_as_cpu(reg, device: str):
    report = build_report(reg, devices=["cpu", device], max_order=ORDER)
    assert report.broken_claims() == []
    for row in report.ops:
        cpu, other = row.cells["cpu"], row.cells[device]
        assert (other.status, other.verified_order) == (cpu.status, cpu.verified_order), (
            f"{row.op} on {device}: {other.status} {other.detail}")
    return report


def test_gpu_kernels_bound_to_numpy_pass_the_cpu_checks(scratch_registry):
    device = DeviceSpec(name="gpu-on-numpy")
    kernels = device_kernels("gpu-on-numpy", np, {
        "Erf": _host_function(math.erf, np), "Erfc": _host_function(math.erfc, np),
        "Einsum": lambda *arrays, equation: np.einsum(equation, *arrays)})
    _assert_same_verdicts_as_cpu(scratch_registry, _bind(scratch_registry, device, kernels))


def test_gpu_kernels_bound_to_array_api_strict_pass_the_cpu_checks(scratch_registry):
    xp = array_api_strict
    device = DeviceSpec(name="gpu-on-array-api-strict",
                        to_device=xp.asarray, to_host=lambda a: np.from_dlpack(a))

    def einsum(*arrays, equation):  # not in the array API either: on the host
        return xp.asarray(np.einsum(equation, *[np.from_dlpack(a) for a in arrays]))

    kernels = device_kernels(device.name, xp, {"Erf": _host_function(math.erf, xp),
                                               "Erfc": _host_function(math.erfc, xp),
                                               "Einsum": einsum})
    _assert_same_verdicts_as_cpu(scratch_registry, _bind(scratch_registry, device, kernels))


def test_ascend_kernels_on_torch_cpu_tensors_pass_the_cpu_checks(scratch_registry):
    device = torch_device_spec("ascend-on-torch-cpu", torch, "cpu")
    _assert_same_verdicts_as_cpu(
        scratch_registry, _bind(scratch_registry, device, torch_kernels(device.name, torch)))


def test_a_device_without_float64_is_compared_with_the_cpu(scratch_registry):
    device = torch_device_spec("npu-like", torch, "cpu", dtypes=NPU_DTYPES)
    name = _bind(scratch_registry, device, torch_kernels("npu-like", torch))
    report = build_report(scratch_registry, devices=[name], ops=["Sin", "MatMul", "Softmax"],
                          max_order=ORDER)
    for row in report.ops:
        cell = row.cells[name]
        assert (cell.status, cell.verified_order) == ("verified", ORDER), cell.detail
        assert "float32 results match the CPU's float64" in cell.detail


def test_a_wrong_kernel_on_a_float32_device_is_caught(scratch_registry):
    device = torch_device_spec("npu-broken", torch, "cpu", dtypes=NPU_DTYPES)
    kernels = [k for k in torch_kernels("npu-broken", torch) if k.op != "Sin"]
    name = _bind(scratch_registry, device, kernels)
    from hograd.core.device import KernelSpec
    scratch_registry.add_kernel(KernelSpec(op="Sin", device=name, fn=lambda x: torch.sin(x) * 1.01),
                                "test-suite")
    cell = build_report(scratch_registry, devices=[name], ops=["Sin"], max_order=2).ops[0].cells[name]
    assert cell.status == "wrong" and "order 0" in cell.detail


def test_tensors_live_on_the_device_and_come_back_with_asnumpy(scratch_registry):
    from hograd import Tensor, ops
    device = torch_device_spec("torch-cpu", torch, "cpu")
    _bind(scratch_registry, device, torch_kernels("torch-cpu", torch))
    context.set_context(device_target="torch-cpu")
    try:
        x = Tensor(np.array([0.5, 1.0]))
        assert isinstance(x._data, torch.Tensor) and x.device == "torch-cpu"
        second = ops.GradOperation()(ops.GradOperation()(ops.sin))(x)
        assert isinstance(second._data, torch.Tensor)
        np.testing.assert_allclose(second.asnumpy(), -np.sin([0.5, 1.0]))
    finally:
        context.set_context(device_target="cpu")


@pytest.mark.parametrize("name, alias, module", [("gpu", "GPU", "gpu"),
                                                  ("ascend", "Ascend", "ascend")])
def test_gpu_and_ascend_are_declared_present_or_absent_with_the_probes_reason(name, alias,
                                                                             module):
    import importlib
    probe = importlib.import_module(f"hograd.devices.{module}").probe
    device = registry().device(alias, require_present=False)
    found, reason = probe()
    cell = build_report(registry(), devices=[name], ops=["Sin"], max_order=1).ops[0].cells[name]
    if found is None:  # this machine lacks it: the reason is the probe's, everywhere it shows
        assert (device.name, device.present, device.absent_reason) == (name, False, reason)
        with pytest.raises(DeviceAbsentError, match=re.escape(
                f"device '{name}' is registered but absent on this machine: {reason}")):
            context.set_context(device_target=alias)
        assert (cell.status, cell.detail) == ("device absent", reason)
    else:  # a machine with the device: it is usable and its cell is checked
        assert device.present and device.absent_reason is None
        assert cell.status == "verified" and cell.verified_order == 1


def test_device_probes_report_a_broken_install_with_its_error(monkeypatch):
    import builtins
    import importlib.util

    from hograd.devices import ascend, gpu
    real_import = builtins.__import__

    def failing_import(name, *args, **kwargs):
        if name in ("cupy", "torch_npu"):
            raise OSError(f"lib{name}.so: cannot open shared object file")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    monkeypatch.setattr(builtins, "__import__", failing_import)
    assert gpu.probe() == (None, "cupy failed to import: OSError: libcupy.so: cannot open "
                                 "shared object file")
    assert ascend.probe() == (None, "torch_npu failed to load: OSError: libtorch_npu.so: cannot "
                                    "open shared object file")


@pytest.mark.parametrize("shape, index_shape, axis", [
    ((64, 3), (200,), 0), ((5, 7, 3), (4, 2), 1), ((6,), (3, 3), 0), ((4, 5), (2,), -1),
    ((5, 3), (0,), 0)])
def test_the_cpu_scatter_add_gather_adjoint_equals_the_array_api_one(shape, index_shape, axis):
    from hograd.devices.array_kernels import kernels_for
    from hograd.core.registry import registry
    rng = np.random.default_rng(3)
    at = axis % len(shape)
    g = rng.standard_normal(shape[:at] + index_shape + shape[at + 1:])
    indices = rng.integers(-shape[at], shape[at], index_shape)  # negative ones wrap, as Gather
    native = registry().kernel("GatherAdjoint", "cpu")(g, indices, axis=axis, shape=shape)
    out = np.full(shape, np.nan)
    registry().kernel("GatherAdjoint", "cpu")(g, indices, out=out, axis=axis, shape=shape)
    np.testing.assert_array_equal(out, native)
    generic = kernels_for(np)["GatherAdjoint"](g, indices, axis=axis, shape=shape)
    np.testing.assert_allclose(native, generic, rtol=1e-13, atol=1e-13)
    # the GPU's kernel is the same code with cupyx.scatter_add, which adds as np.add.at does
    from hograd.devices.writing_kernels import gather_adjoint_by
    by_add_at = gather_adjoint_by(np, np.add.at)(g, indices, axis=axis, shape=shape)
    np.testing.assert_allclose(by_add_at, generic, rtol=1e-13, atol=1e-13)
