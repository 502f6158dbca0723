"""Taylor mode against nested reverse mode: graph sizes, first-call times, Laplacian timings.

Run: python benchmarks/bench_taylor.py   (one CPU thread: set before numpy is imported)
Prints three tables:
1. the n-th derivative of tanh(2·tanh(x) + sin(x)) at x = 0.3, orders 1–12: nodes of the
   derived graph and first-call time, for ops.derivative (Taylor mode) and nested
   GradOperation (orders 1–10; beyond, nesting takes seconds per order);
2. the Laplacian of a 4-64-64-1 tanh MLP at 256 points: hograd.laplacian (collapsed Taylor
   mode, one forward pass) against nested GradOperation (a gradient, then one Hessian-vector
   product per input direction), first call, fastest and median of 200 alternating calls;
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


def interleaved(calls: dict, repeats: int = 200) -> dict:
    """First-call time, fastest and median repeated call of each, the calls alternating so that
    load from other processes falls on all alike (the minimum is the figure least moved by it)."""
    firsts, times = {}, {label: [] for label in calls}
    for label, (fn, args) in calls.items():
        start = time.perf_counter()
        fn(*args)
        firsts[label] = time.perf_counter() - start
    for _ in range(repeats):
        for label, (fn, args) in calls.items():
            start = time.perf_counter()
            fn(*args)
            times[label].append(time.perf_counter() - start)
    return {label: (firsts[label], min(times[label]), statistics.median(times[label]))
            for label in calls}


def laplacian_table() -> None:
    from hograd.core.staging import stage
    x = Tensor(np.random.default_rng(1).uniform(-1, 1, (256, 4)))
    print("\nLaplacian of a 4-64-64-1 tanh MLP at 256 points (GRAPH_MODE, one thread)")
    calls, nodes, values = {}, {}, {}
    for label, make in (("nested GradOperation", lambda net: NestedLaplacian(net, 4)),
                        ("hograd.laplacian", TaylorLaplacian)):
        net = MLP()
        value_cell = make(net)
        loss = PoissonLoss(make(net))
        step = ops.GradOperation(get_by_list=True)(loss, ParameterTuple(net.trainable_params()))
        calls[label] = (value_cell, (x,))
        calls[label + " step"] = (step, (x,))
    # each pair alternates on its own: a step allocates ~10× what a Laplacian does, and which
    # call ran just before moves a call's time through the allocator's state (glibc hands a
    # freed 128 KiB array back to the OS, and the next call page-faults it in again)
    results = {**interleaved({label: calls[label] for label in calls if "step" not in label}),
               **interleaved({label: calls[label] for label in calls if "step" in label})}
    for label in ("nested GradOperation", "hograd.laplacian"):
        value_cell, step = calls[label][0], calls[label + " step"][0]
        nodes[label] = (len(stage(value_cell, [x]).graph.nodes), len(step.graph(x).nodes))
        values[label] = value_cell(x).asnumpy()
    print(f"{'method':>22} | {'nodes':>5} | {'1st call':>9} | {'fastest':>8} | {'median':>8} | "
          f"{'step nodes':>10} | {'step 1st':>9} | {'fastest':>8} | {'median':>8}")
    for label in ("nested GradOperation", "hograd.laplacian"):
        first, fastest, median = results[label]
        s_first, s_fastest, s_median = results[label + " step"]
        print(f"{label:>22} | {nodes[label][0]:>5} | {first * 1e3:>6.1f} ms | "
              f"{fastest * 1e3:>5.2f} ms | {median * 1e3:>5.2f} ms | {nodes[label][1]:>10} | "
              f"{s_first * 1e3:>6.1f} ms | {s_fastest * 1e3:>5.2f} ms | {s_median * 1e3:>5.2f} ms")
    def ratio(kind: int, suffix: str = "") -> float:
        return (results["hograd.laplacian" + suffix][kind] /
                results["nested GradOperation" + suffix][kind])

    agree = np.max(np.abs(values["nested GradOperation"] - values["hograd.laplacian"]))
    print(f"ratio Taylor / nested: Laplacian {ratio(1):.2f}× fastest, {ratio(2):.2f}× median; "
          f"training step {ratio(1, ' step'):.2f}× fastest, {ratio(2, ' step'):.2f}× median "
          f"(largest difference of the Laplacians {agree:.1e})")


if __name__ == "__main__":
    derivative_table()
    laplacian_table()
