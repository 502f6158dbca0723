"""What collecting sums of products does to nested derivatives: graph sizes and one timing.

Run: python benchmarks/bench_collect.py   (one CPU thread: set before numpy is imported)
Prints
1. the nodes of the 6th derivative's graph (6 nested GradOperations, x of 5 points) of tanh,
   sin(x)·exp(x) and a 1-16-16-1 tanh MLP with biases;
2. the 4th derivative of sin(x)·exp(x): its graph, and its steady call at 10⁵ points against
   numpy's sin(x)*exp(x) (fastest and median of 200 calls, three rounds).
"""
from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from hograd import Parameter, Tensor, context, nn, ops  # noqa: E402


class MLP(nn.Cell):
    """1-16-16-1, tanh, with biases."""

    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.w1 = Parameter(Tensor(rng.standard_normal((1, 16))), name="w1")
        self.b1 = Parameter(Tensor(rng.standard_normal((16,))), name="b1")
        self.w2 = Parameter(Tensor(rng.standard_normal((16, 16)) / 4), name="w2")
        self.b2 = Parameter(Tensor(rng.standard_normal((16,))), name="b2")
        self.w3 = Parameter(Tensor(rng.standard_normal((16, 1)) / 4), name="w3")
        self.b3 = Parameter(Tensor(rng.standard_normal((1,))), name="b3")

    def construct(self, x):
        h = ops.tanh(ops.matmul(x, self.w1) + self.b1)
        h = ops.tanh(ops.matmul(h, self.w2) + self.b2)
        return ops.matmul(h, self.w3) + self.b3


def sin_exp(x):
    return ops.sin(x) * ops.exp(x)


def nth(fn, order: int):
    for _ in range(order):
        fn = ops.GradOperation()(fn)
    return fn


def fastest_and_median(call, repeats: int = 200) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def sizes() -> None:
    line = Tensor(np.linspace(-1, 1, 5))
    column = Tensor(np.linspace(-1, 1, 5).reshape(5, 1))
    print("nodes of the 6th derivative's graph")
    for name, fn, x in (("tanh", ops.tanh, line), ("sin(x)·exp(x)", sin_exp, line),
                        ("1-16-16-1 tanh MLP", MLP(), column)):
        print(f"  {name:20s} {len(nth(fn, 6).graph(x).nodes):5d}")


def fourth_derivative() -> None:
    context.set_context(mode=context.GRAPH_MODE)
    print("\n4th derivative of sin(x)·exp(x)")
    print(nth(sin_exp, 4).graph(Tensor(np.linspace(-1, 1, 5))))
    x = np.linspace(-3, 3, 100_000)
    tensor = Tensor(x)
    fourth = nth(sin_exp, 4)
    np.testing.assert_allclose(fourth(tensor).asnumpy(), -4 * np.sin(x) * np.exp(x),
                               rtol=1e-12, atol=1e-12)
    for _ in range(3):
        ours = fastest_and_median(lambda: fourth(tensor))
        numpy = fastest_and_median(lambda: np.sin(x) * np.exp(x))
        print(f"  at 1e5 points: {ours[0] * 1e6:7.1f} µs (median {ours[1] * 1e6:7.1f}), numpy "
              f"sin(x)*exp(x) {numpy[0] * 1e6:7.1f} µs (median {numpy[1] * 1e6:7.1f}): "
              f"{ours[0] / numpy[0]:.2f}× fastest, {ours[1] / numpy[1]:.2f}× median")


if __name__ == "__main__":
    sizes()
    fourth_derivative()
