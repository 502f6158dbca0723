"""Taylor mode against nested reverse mode: graph sizes, first-call times, Laplacian timings.

Run: python benchmarks/bench_taylor.py   (one CPU thread: set before numpy is imported)
Prints three tables:
1. the n-th derivative of tanh(2·tanh(x) + sin(x)) at x = 0.3, orders 1–12: nodes of the
   derived graph and first-call time, for ops.derivative (Taylor mode) and nested
   GradOperation (orders 1–10; beyond, nesting takes seconds per order);
2. the Laplacian of a 4-64-64-1 tanh MLP at 256 points: hograd.laplacian (collapsed Taylor
   mode, one forward pass) against nested GradOperation (a gradient, then one Hessian-vector
   product per input direction), first call and median of repeated calls;
3. one PINN training step (the gradient of mean(Δu²) w.r.t. the weights) each way.
"""
from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import hograd  # noqa: E402
from hograd import Parameter, ParameterTuple, Tensor, nn, ops  # noqa: E402
from hograd.taylor_api import taylor_graph  # noqa: E402


def composite(x):
    return ops.tanh(2.0 * ops.tanh(x) + ops.sin(x))


def nested(order: int):
    fn = composite
    for _ in range(order):
        fn = ops.GradOperation()(fn)
    return fn


def first_call(make, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = make()(*args)
    return time.perf_counter() - start, result


def derivative_table(max_order: int = 12, max_nested: int = 10) -> None:
    x = Tensor(np.array(0.3))
    print("n-th derivative of tanh(2·tanh(x) + sin(x)) at x = 0.3")
    print(f"{'order':>5} | {'value':>22} | {'Taylor nodes':>12} | {'Taylor 1st call':>15} | "
          f"{'nested nodes':>12} | {'nested 1st call':>15}")
    for order in range(1, max_order + 1):
        # a fresh function each time, so the first call traces, derives and compiles
        seconds, (_, value) = first_call(
            lambda: (lambda x: ops.derivative(lambda v: composite(v), x, order)), x)
        nodes = len(taylor_graph(composite, x, order).nodes)
        nested_nodes, nested_time = "—", "—"
        if order <= max_nested:
            nested_seconds, _ = first_call(lambda: nested(order), x)
            nested_nodes = str(len(nested(order).graph(x).nodes))
            nested_time = f"{nested_seconds * 1e3:.1f} ms"
        print(f"{order:>5} | {float(value.asnumpy()):>22.10f} | {nodes:>12} | "
              f"{seconds * 1e3:>12.1f} ms | {nested_nodes:>12} | {nested_time:>15}")


class MLP(nn.Cell):
    """4-64-64-1 with tanh."""

    def __init__(self, seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.w1 = Parameter(Tensor(rng.standard_normal((4, 64)) * 0.5), name="w1")
        self.b1 = Parameter(Tensor(np.zeros(64)), name="b1")
        self.w2 = Parameter(Tensor(rng.standard_normal((64, 64)) * 0.2), name="w2")
        self.b2 = Parameter(Tensor(np.zeros(64)), name="b2")
        self.w3 = Parameter(Tensor(rng.standard_normal((64, 1)) * 0.2), name="w3")

    def construct(self, x):
        h = ops.tanh(ops.matmul(x, self.w1) + self.b1)
        h = ops.tanh(ops.matmul(h, self.w2) + self.b2)
        return ops.matmul(h, self.w3)


class Gradient(nn.Cell):
    def __init__(self, net):
        super().__init__()
        self.net = net
        self.grad = ops.GradOperation()

    def construct(self, x):
        return self.grad(self.net)(x)


class NestedLaplacian(nn.Cell):
    """Σ_d ∂²u/∂x_d² by reverse over reverse: one Hessian-vector product per direction."""

    def __init__(self, net, dims: int):
        super().__init__()
        self.gradient = Gradient(net)
        self.hvp = ops.GradOperation(sens_param=True)
        self.dims = dims

    def construct(self, x):
        total = None
        for d in range(self.dims):
            basis = np.zeros(x.shape)
            basis[:, d] = 1.0
            column = self.hvp(self.gradient)(x, Tensor(basis))[:, d:d + 1]
            total = column if total is None else total + column
        return total


class TaylorLaplacian(nn.Cell):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def construct(self, x):
        return hograd.laplacian(self.net)(x)


class PoissonLoss(nn.Cell):
    def __init__(self, laplacian):
        super().__init__()
        self.laplacian = laplacian

    def construct(self, x):
        return ops.reduce_mean(ops.square(self.laplacian(x)))


def timed(fn, *args, repeats: int = 30) -> tuple[float, float]:
    start = time.perf_counter()
    fn(*args)
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return first, statistics.median(times)


def laplacian_table() -> None:
    x = Tensor(np.random.default_rng(1).uniform(-1, 1, (256, 4)))
    print("\nLaplacian of a 4-64-64-1 tanh MLP at 256 points (GRAPH_MODE, one thread)")
    rows = []
    for label, make in (("nested GradOperation", lambda net: NestedLaplacian(net, 4)),
                        ("hograd.laplacian", TaylorLaplacian)):
        net = MLP()
        value_cell = make(net)
        loss = PoissonLoss(make(net))
        step = ops.GradOperation(get_by_list=True)(loss, ParameterTuple(net.trainable_params()))
        first, median = timed(value_cell, x)
        step_first, step_median = timed(step, x)
        rows.append((label, first, median, step_first, step_median, value_cell(x).asnumpy()))
    agree = np.max(np.abs(rows[0][5] - rows[1][5]))
    print(f"{'method':>22} | {'1st call':>9} | {'repeated':>9} | {'train 1st':>9} | "
          f"{'train step':>10}")
    for label, first, median, step_first, step_median, _ in rows:
        print(f"{label:>22} | {first * 1e3:>6.1f} ms | {median * 1e3:>6.2f} ms | "
              f"{step_first * 1e3:>6.1f} ms | {step_median * 1e3:>7.2f} ms")
    print(f"ratio Taylor / nested: Laplacian {rows[1][2] / rows[0][2]:.2f}×, training step "
          f"{rows[1][4] / rows[0][4]:.2f}× (largest difference of the Laplacians {agree:.1e})")


if __name__ == "__main__":
    derivative_table()
    laplacian_table()
