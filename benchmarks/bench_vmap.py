"""vmap's two targets: a full Hessian and per-sample gradients, against hand-written numpy.

Run: python benchmarks/bench_vmap.py   (pins BLAS to one thread before numpy loads)
CPU, float64, GRAPH_MODE, the fastest of repeated calls after the first (tracing) call:

- the 100×100 Hessian of the mean logistic loss over n = 1000 samples through
  ``hograd.hessian`` (forward over reverse, its JVP batched over the 100 basis vectors by vmap's
  transformer), against the closed form ``Xᵀ·diag(σ(1−σ))·X / n`` in numpy; target ≤ 2×;
- per-sample gradients (all four weight tensors) of a 784-128-10 tanh MLP with softmax
  cross-entropy for 64 samples through ``vmap(grad(loss))``, against the same gradients written
  by hand in numpy (one batched forward and backward pass); target ≤ 1.2×;
- for scale, a Python loop of 64 ``grad`` calls and, where torch is installed, torch.func.
"""
from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import time  # noqa: E402

import numpy as np  # noqa: E402

import hograd  # noqa: E402
from hograd import Tensor, context, ops  # noqa: E402
from hograd.core.executor import wait_for_fusions  # noqa: E402


def fastest_seconds(call, repeats: int = 30) -> float:
    call()  # trace, derive, compile
    # hograd's graphs compile their fused groups in the background after two calls: wait for
    # them, as one waits for a JIT (timing meanwhile would time the compiler's GIL share too)
    call()
    wait_for_fusions()
    call()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


# ---- the logistic-regression Hessian ------------------------------------------------------------
def logistic_data(n: int = 1000, features: int = 100, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)) / np.sqrt(features)
    y = (rng.uniform(size=(n, 1)) < 0.5).astype(np.float64)
    w = rng.standard_normal((features, 1)) * 0.1
    return x, y, w


def logistic_loss(w, x, y):
    """mean(log(1 + e^z) − y·z), z = x·w."""
    logits = ops.matmul(x, w)
    return ops.reduce_mean(ops.softplus(logits) - y * logits)


def numpy_hessian(w, x, y):
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    return x.T @ (x * (p * (1.0 - p))) / x.shape[0]


def bench_hessian() -> dict:
    x, y, w = logistic_data()
    hessian = hograd.hessian(logistic_loss)
    args = (Tensor(w), Tensor(x), Tensor(y))
    got = hessian(*args).asnumpy().reshape(100, 100)
    assert np.allclose(got, numpy_hessian(w, x, y), rtol=1e-10, atol=1e-12)
    figures = {"hograd.hessian": fastest_seconds(lambda: hessian(*args)),
               "numpy closed form": fastest_seconds(lambda: numpy_hessian(w, x, y))}
    try:
        import torch
        from torch import func
        torch.set_num_threads(1)
        tx, ty, tw = (torch.tensor(a) for a in (x, y, w))
        loss = lambda v: (torch.nn.functional.softplus(tx @ v) - ty * (tx @ v)).mean()  # noqa
        figures["torch.func.hessian"] = fastest_seconds(lambda: func.hessian(loss)(tw))
    except ImportError:
        pass
    jax = _jax()
    if jax is not None:
        jx, jy, jw = (jax.numpy.asarray(a) for a in (x, y, w))
        jloss = lambda v: (jax.nn.softplus(jx @ v) - jy * (jx @ v)).mean()  # noqa: E731
        jitted = jax.jit(jax.hessian(jloss))
        figures["jax.jit(jax.hessian)"] = fastest_seconds(
            lambda: jitted(jw).block_until_ready())
    return figures


def _jax():
    """JAX in float64 on the CPU, where installed (a peer to compare with, never a dependency)."""
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platform_name", "cpu")
    return jax


# ---- per-sample gradients ---------------------------------------------------------------------
def mlp_data(batch: int = 64, seed: int = 0):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((784, 128)) / 28.0, np.zeros((1, 128)),
               rng.standard_normal((128, 10)) / np.sqrt(128), np.zeros((1, 10))]
    images = rng.uniform(size=(batch, 784))
    labels = np.eye(10)[rng.integers(0, 10, batch)]
    return weights, images, labels


def mlp_loss(w1, b1, w2, b2, image, label):
    """Softmax cross-entropy of one example through a tanh layer."""
    hidden = ops.tanh(ops.matmul(ops.reshape(image, (1, 784)), w1) + b1)
    logits = ops.matmul(hidden, w2) + b2
    return -ops.reduce_sum(ops.log_softmax(logits, axis=-1) * ops.reshape(label, (1, 10)))


def numpy_per_sample(w1, b1, w2, b2, images, labels):
    """The same per-sample gradients by hand: one batched forward and backward pass."""
    hidden = np.tanh(images @ w1 + b1)
    logits = hidden @ w2 + b2
    logits = logits - logits.max(axis=1, keepdims=True)
    soft = np.exp(logits)
    soft /= soft.sum(axis=1, keepdims=True)
    d_logits = soft - labels
    d_hidden = (d_logits @ w2.T) * (1.0 - hidden * hidden)
    return (images[:, :, None] * d_hidden[:, None, :], d_hidden[:, None, :],
            hidden[:, :, None] * d_logits[:, None, :], d_logits[:, None, :])


def bench_per_sample() -> dict:
    weights, images, labels = mlp_data()
    per_sample = hograd.vmap(hograd.grad(mlp_loss, grad_position=(0, 1, 2, 3)),
                             in_axes=(None, None, None, None, 0, 0))
    args = [Tensor(a) for a in (*weights, images, labels)]
    got = per_sample(*args)
    for mine, theirs in zip(got, numpy_per_sample(*weights, images, labels)):
        assert np.allclose(mine.asnumpy(), theirs, rtol=1e-9, atol=1e-12)
    one = hograd.grad(mlp_loss, grad_position=(0, 1, 2, 3))
    examples = [(Tensor(images[k]), Tensor(labels[k])) for k in range(len(images))]
    figures = {"vmap(grad)": fastest_seconds(lambda: per_sample(*args)),
               "numpy by hand": fastest_seconds(lambda: numpy_per_sample(*weights, images,
                                                                        labels)),
               "loop of grad calls": fastest_seconds(
                   lambda: [one(*args[:4], image, label) for image, label in examples],
                   repeats=5)}
    try:
        import torch
        from torch import func
        torch.set_num_threads(1)
        tw = [torch.tensor(a) for a in weights]

        def loss(w1, b1, w2, b2, image, label):
            hidden = torch.tanh(image[None] @ w1 + b1)
            return -(torch.log_softmax(hidden @ w2 + b2, -1) * label).sum()

        batched = func.vmap(func.grad(loss, argnums=(0, 1, 2, 3)),
                            in_dims=(None, None, None, None, 0, 0))
        timages, tlabels = torch.tensor(images), torch.tensor(labels)
        figures["torch.func vmap(grad)"] = fastest_seconds(lambda: batched(*tw, timages,
                                                                           tlabels))
    except ImportError:
        pass
    jax = _jax()
    if jax is not None:
        jnp = jax.numpy

        def jloss(w1, b1, w2, b2, image, label):
            hidden = jnp.tanh(image[None] @ w1 + b1)
            return -(jax.nn.log_softmax(hidden @ w2 + b2, -1) * label).sum()

        jbatched = jax.jit(jax.vmap(jax.grad(jloss, argnums=(0, 1, 2, 3)),
                                    in_axes=(None, None, None, None, 0, 0)))
        jargs = [jnp.asarray(a) for a in (*weights, images, labels)]
        figures["jax.jit(vmap(grad))"] = fastest_seconds(
            lambda: jax.block_until_ready(jbatched(*jargs)))
    return figures


def report(title: str, figures: dict, baseline: str, target: float) -> None:
    print(title)
    base = figures[baseline]
    for name, seconds in figures.items():
        print(f"  {name:24s} {seconds * 1e3:8.3f} ms   {seconds / base:5.2f}× {baseline}")
    first = next(iter(figures))
    verdict = "met" if figures[first] / base <= target else "NOT met"
    print(f"  target ≤ {target}× {baseline}: {verdict}")


def main() -> None:
    context.set_context(mode=context.GRAPH_MODE)
    report("100×100 logistic-regression Hessian, n = 1000", bench_hessian(),
           "numpy closed form", 2.0)
    report("per-sample gradients, 784-128-10 tanh MLP, 64 samples", bench_per_sample(),
           "numpy by hand", 1.2)


if __name__ == "__main__":
    main()
