"""H3 (issue 9): the 4th derivative of f(x) = sin(x)·exp(x), elementwise, beside numpy, JAX, torch.

Run: python benchmarks/bench_h3_derivative.py [--device gpu] [--calls N] [--core N]

- CPU: 100,000 points, float64, one pinned core; the ratio the issue targets is hograd's time
  over numpy's *primal* sin(x)·exp(x) (what a hand-derived closed form would cost at best).
- GPU: 100,000,000 points, float32; hograd's cupy arrays against cupy's primal and JAX.

hograd: ``GradOperation`` nested four times (GRAPH_MODE, compiled; the gradient of an
elementwise function weights its outputs by ones, so it is the elementwise derivative), and
Taylor mode's ``ops.derivative(f, x, 4)``. Peers: ``jax.jit`` of ``grad`` of the sum nested
four times, torch's ``autograd.grad(create_graph=True)`` four times. Every result is checked
against the analytic −4·sin(x)·exp(x) before timing.
"""
from __future__ import annotations

import _compare  # first: it pins the process and its thread pools before numpy loads
from _compare import Contender, Peers

import numpy as np  # noqa: E402

ORDER = 4
POINTS = {"cpu": 100_000, "gpu": 100_000_000}
TOLERANCE = {"cpu": 1e-12, "gpu": 1e-4}


def points(count: int, dtype=np.float64) -> np.ndarray:
    return np.random.default_rng(0).uniform(-2.0, 2.0, count).astype(dtype)


def analytic(x: np.ndarray) -> np.ndarray:
    """d⁴/dx⁴ sin(x)·eˣ = −4·sin(x)·eˣ (each derivative multiplies by √2·e^{iπ/4})."""
    x = x.astype(np.float64)
    return -4.0 * np.sin(x) * np.exp(x)


def contenders(peers: Peers, x: np.ndarray) -> list[Contender]:
    """hograd's two ways, the primal baseline and the peers' nested gradients."""
    found = []
    if peers.hograd is not None:
        found += hograd_contenders(peers.hograd, peers.hograd_tensor(x))
    if peers.device == "cpu":
        found.append(Contender("numpy primal sin(x)·exp(x)", "numpy",
                               lambda: np.sin(x) * np.exp(x), checked=False))
    else:
        cupy, on_gpu = peers.cupy, peers.cupy.asarray(x)
        found.append(Contender("cupy primal sin(x)·exp(x)", "cupy",
                               lambda: cupy.sin(on_gpu) * cupy.exp(on_gpu), checked=False))
    if peers.jax is not None:
        found.append(jax_contender(peers.jax, peers.jax_array(x)))
    if peers.torch is not None:
        found.append(torch_contender(peers.torch, peers.torch_tensor(x)))
    return found


def hograd_contenders(hograd, x) -> list[Contender]:
    ops = hograd.ops

    def f(v):
        return ops.sin(v) * ops.exp(v)

    nested = f
    for _ in range(ORDER):
        nested = ops.GradOperation()(nested)
    from hograd.taylor_api import taylor_graph
    return [Contender("hograd GradOperation⁴", "hograd", lambda: nested(x),
                      nodes=len(nested.graph(x).nodes)),
            Contender(f"hograd ops.derivative(f, x, {ORDER})", "hograd",
                      lambda: ops.derivative(f, x, ORDER)[1],
                      nodes=len(taylor_graph(f, x, ORDER).nodes))]


def jax_contender(jax, x) -> Contender:
    jnp = jax.numpy

    def grad_of_sum(fn):
        # rows are independent, so the gradient of the sum is the elementwise derivative
        return lambda v: jax.grad(lambda w: fn(w).sum())(v)

    nested = lambda v: jnp.sin(v) * jnp.exp(v)  # noqa: E731
    for _ in range(ORDER):
        nested = grad_of_sum(nested)
    compiled = jax.jit(nested)
    return Contender("jax.jit grad⁴ (of the sum)", "jax", lambda: compiled(x))


def torch_contender(torch, x) -> Contender:
    def fourth():
        v = x.detach().requires_grad_(True)
        y = torch.sin(v) * torch.exp(v)
        for k in range(ORDER):
            y, = torch.autograd.grad(y.sum(), v, create_graph=k < ORDER - 1)
        return y
    return Contender("torch autograd.grad⁴ create_graph", "torch", fourth)


def check(peers: Peers, found: list[Contender], x: np.ndarray, results: dict
          ) -> tuple[dict[str, float], str]:
    """Every derivative against the analytic one (on the GPU at every 1,009th point)."""
    sample = None if x.size <= 10**6 else slice(None, None, 1009)
    where = "" if sample is None else ", at every 1,009th point"
    expected = analytic(x if sample is None else x[sample])
    return (_compare.agreement(results, found, [expected], TOLERANCE[peers.device], sample),
            f"from the analytic −4·sin(x)·exp(x) in float64, relative to its largest value{where}")


def differences(count: int = 1000, frameworks=("jax", "torch")) -> dict[str, float]:
    """The check alone, at ``count`` points on the CPU, with hograd and those of
    ``frameworks`` installed (the test suite runs this)."""
    peers = _compare.load("cpu", frameworks)
    x = points(count)
    found = contenders(peers, x)
    return check(peers, found, x, _compare.first_calls(found, peers))[0]


def main() -> None:
    options = _compare.OPTIONS
    peers = _compare.load(options.device)
    if options.device == "gpu" and _compare.gpu_absent(peers, "bench_h3_derivative"):
        return
    if peers.hograd is not None:
        _compare.warm_up_hograd(peers.hograd, peers.dtype)
    x = points(POINTS[options.device], peers.dtype)
    found = contenders(peers, x)
    _compare.run(f"H3: d⁴/dx⁴ sin(x)·exp(x) at {x.size:,} points", found, peers, options.calls,
                 lambda results: check(peers, found, x, results))


if __name__ == "__main__":
    main()
