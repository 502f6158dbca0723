"""Forward mode costs about one forward pass: a JVP of a function from R¹ to R¹⁰⁰⁰.

Run: python benchmarks/bench_jvp.py
Times, in GRAPH_MODE, the median of repeated calls (after the first, tracing, call) of

- the forward call ``curve(t)`` of a Cell mapping a scalar t to 1000 values through a small
  network, compiled as graph mode compiles Cells;
- ``ops.jvp(curve, t, 1.0)``, which returns the 1000 values *and* their derivatives in t;
- for scale, ``ops.jacrev(curve)(t)``: the same column by reverse mode, one VJP per output.

The issue's bar: the jvp costs at most 5× the forward call (it is one sweep, not 1000).
"""
from __future__ import annotations

import statistics
import time

import numpy as np

from hograd import Parameter, Tensor, context, nn, ops


class Curve(nn.Cell):
    """t ↦ 1000 values: a small network of width 16 per point, its weights differing by point."""

    def __init__(self, points: int = 1000, width: int = 16):
        super().__init__()
        rng = np.random.default_rng(0)
        self.a = Parameter(Tensor(rng.standard_normal((points, width))), name="a")
        self.b = Parameter(Tensor(rng.standard_normal((points, width))), name="b")
        self.c = Parameter(Tensor(rng.standard_normal((width, 1)) * 0.3), name="c")

    def construct(self, t):
        hidden = ops.tanh(self.a * t + self.b)
        return ops.reshape(ops.matmul(ops.sin(hidden) * hidden, self.c), (-1,))


def median_seconds(call, repeats: int = 200) -> float:
    call()  # trace, derive, compile
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    context.set_context(mode=context.GRAPH_MODE)
    curve = Curve()
    t = Tensor(np.array(0.7))
    one = Tensor(np.array(1.0))
    forward = median_seconds(lambda: curve(t))
    jvp = median_seconds(lambda: ops.jvp(curve, t, one))
    jacrev = median_seconds(lambda: ops.jacrev(curve)(t), repeats=3)
    print(f"forward call       {forward * 1e6:9.1f} µs")
    print(f"jvp (values + d/dt) {jvp * 1e6:8.1f} µs   {jvp / forward:5.2f}× the forward call")
    print(f"jacrev (1000 VJPs) {jacrev * 1e6:9.1f} µs   {jacrev / forward:7.1f}× the forward call")


if __name__ == "__main__":
    main()
