"""A third-party hograd plugin: one new op, ``Cube`` (x³), with its backward rule, a CPU kernel
and a check spec — through the documented hooks only.

After ``pip install``, ``hograd.ops.Cube()`` and ``hograd.ops.cube`` exist, differentiate to any
order, and ``hograd capabilities`` shows the op with this plugin as its provider.
"""
import numpy as np

from hograd.extend import KernelSpec, hookimpl, sample, spec, unary, x


@hookimpl
def hograd_ops():
    # the rule is written with hograd ops (Tensor arithmetic), so it differentiates again
    return [unary("Cube", lambda g, out, x: g * x * x * 3.0, doc="x³")]


@hookimpl
def hograd_kernels():
    return [KernelSpec(op="Cube", device="cpu", fn=lambda x: np.asarray(x * x * x))]


@hookimpl
def hograd_op_specs():
    return [spec("Cube", sample(x(2, 3)), sample(x()))]
