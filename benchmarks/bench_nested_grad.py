"""Time repeated calls of nested gradients: the cost after the first (tracing) call.

Run: python benchmarks/bench_nested_grad.py
Measures, per mode, the first call (trace + derive + compile) and the median of repeated calls
of a PINN-style second derivative d²u/dx² of a small tanh network w.r.t. its input.
"""
from __future__ import annotations

import statistics
import time

import numpy as np

from hograd import Parameter, Tensor, context, nn, ops


class MLP(nn.Cell):
    def __init__(self, width: int = 32):
        super().__init__()
        rng = np.random.default_rng(0)
        self.w1 = Parameter(Tensor(rng.standard_normal((1, width)) * 0.5), name="w1")
        self.w2 = Parameter(Tensor(rng.standard_normal((width, width)) * 0.2), name="w2")
        self.w3 = Parameter(Tensor(rng.standard_normal((width, 1)) * 0.2), name="w3")

    def construct(self, x):
        h = ops.tanh(ops.matmul(x, self.w1))
        h = ops.tanh(ops.matmul(h, self.w2))
        return ops.matmul(h, self.w3)


class Derivative(nn.Cell):
    def __init__(self, net):
        super().__init__()
        self.net = net
        self.grad = ops.GradOperation()

    def construct(self, x):
        return self.grad(self.net)(x)


def measure(mode: int, repeats: int = 200) -> tuple[float, float, int]:
    context.set_context(mode=mode)
    second = Derivative(Derivative(MLP()))
    x = Tensor(np.linspace(-1, 1, 256).reshape(256, 1))
    start = time.perf_counter()
    second(x)
    first_call = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        second(x)
        times.append(time.perf_counter() - start)
    nodes = len(ops.GradOperation()(Derivative(MLP())).graph(x).nodes)
    return first_call, statistics.median(times), nodes


if __name__ == "__main__":
    for name, mode in (("GRAPH_MODE", context.GRAPH_MODE), ("PYNATIVE_MODE", context.PYNATIVE_MODE)):
        first, median, nodes = measure(mode)
        print(f"{name:14s} d²u/dx², batch 256, width 32: first call {first * 1e3:7.2f} ms, "
              f"repeated {median * 1e6:8.1f} µs (graph: {nodes} nodes)")
