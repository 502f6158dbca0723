"""The first call of a high-order nested gradient, in a fresh process: its time and peak memory.

Run: python benchmarks/bench_first_call.py [--order 6] [--points 10000] [--runs 3]
The n-th derivative (n nested GradOperations) of a 1-16-16-1 tanh MLP (nn.Dense, float64,
GRAPH_MODE) at N points of shape (N, 1). Each run is a new Python process (imports excluded
from the times): the first call traces, derives and compiles every order and runs the graph;
then the fastest of 3 calls while the graph's fused groups compile in the background, the
time still left to wait for them, and the fastest of 10 steady (fused) calls. Peaks are
tracemalloc's (a separate process, since tracing allocations slows the calls; its steady peak
is the second call's); minor page faults per steady call show the allocator's share.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")


def measure(order: int, points: int, memory: bool) -> dict:
    """One process's figures (this runs in the child)."""
    import resource
    import time
    import tracemalloc

    import numpy as np

    from hograd import Tensor, context, nn, ops
    from hograd import dtype as mstype
    from hograd.core.executor import wait_for_fusions

    class MLP(nn.Cell):
        def __init__(self):
            super().__init__()
            self.l1 = nn.Dense(1, 16, activation="tanh", dtype=mstype.float64)
            self.l2 = nn.Dense(16, 16, activation="tanh", dtype=mstype.float64)
            self.l3 = nn.Dense(16, 1, dtype=mstype.float64)

        def construct(self, x):
            return self.l3(self.l2(self.l1(x)))

    context.set_context(mode=context.GRAPH_MODE)
    fn = MLP()
    for _ in range(order):
        fn = ops.GradOperation()(fn)
    x = Tensor(np.linspace(-1, 1, points).reshape(points, 1))
    if memory:
        tracemalloc.start()
    start = time.perf_counter()
    fn(x)
    first = time.perf_counter() - start
    figures = {"first_s": first}
    if memory:
        figures["first_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.reset_peak()
        fn(x)
        figures["steady_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
        return figures
    def fastest_of(calls: int) -> float:
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            fn(x)
            times.append(time.perf_counter() - start)
        return min(times)

    # the calls right after the first run unfused while the fusion thread compiles
    figures["unfused_s"] = fastest_of(3)
    start = time.perf_counter()
    wait_for_fusions()
    figures["compile_wait_s"] = time.perf_counter() - start
    fn(x)   # the fused plan's first run makes its buffers
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    figures["steady_s"] = fastest_of(10)
    figures["faults_per_steady_call"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / 10
    return figures


def in_fresh_process(order: int, points: int, memory: bool) -> dict:
    command = [sys.executable, __file__, "--child", "--order", str(order), "--points",
               str(points)] + (["--memory"] if memory else [])
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--order", type=int, default=6)
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.order, args.points, args.memory)))
        return
    print(f"grad^{args.order} of a 1-16-16-1 tanh MLP at {args.points} points, float64, "
          f"GRAPH_MODE; each run a fresh process")
    for run in range(args.runs):
        times = in_fresh_process(args.order, args.points, memory=False)
        peaks = in_fresh_process(args.order, args.points, memory=True)
        print(f"run {run + 1}: first call {times['first_s'] * 1e3:7.1f} ms, next calls "
              f"{times['unfused_s'] * 1e3:6.1f} ms (unfused, while fusion compiles: "
              f"{times['compile_wait_s']:.1f} s more), steady {times['steady_s'] * 1e3:6.1f} ms "
              f"({times['faults_per_steady_call']:.0f} page faults a call); peak "
              f"{peaks['first_peak_mb']:6.1f} MB first, {peaks['steady_peak_mb']:6.1f} MB steady")


if __name__ == "__main__":
    main()
