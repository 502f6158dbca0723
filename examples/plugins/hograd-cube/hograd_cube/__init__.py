"""A third-party hograd plugin: one new op, ``Cube`` (x³), with its backward rule and its checks
in one record, and a CPU kernel — through the documented hooks only.

After ``pip install``, ``hograd.ops.Cube()`` and ``hograd.ops.cube`` exist, differentiate to any
order, and ``hograd capabilities`` shows the op with this plugin as its provider.
"""
import numpy as np

from hograd.extend import KernelSpec, checks, hookimpl, sample, unary, x


@hookimpl
def hograd_ops():
    # the rule is written with hograd ops (Tensor arithmetic), so it differentiates again; the
    # checks (a matrix and a scalar) are the family's default, written out to show them
    return [unary("Cube", lambda g, out, x: g * x * x * 3.0, doc="x³",
                  checks=checks(sample(x(2, 3)), sample(x())))]


@hookimpl
def hograd_kernels():
    return [KernelSpec(op="Cube", device="cpu", fn=lambda x: np.asarray(x * x * x))]
