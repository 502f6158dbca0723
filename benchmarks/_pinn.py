"""The PINN workloads of issue 9 in hograd, JAX and torch: the Laplacian of a tanh MLP w.r.t. its
input (H4; on the GPU, u_xx of a 1-D network) and the training step, the gradient of
mean(Δu²) w.r.t. all weights and biases (H5). ``bench_h4_laplacian.py`` and
``bench_h5_pinn_step.py`` time them; the checks are here, beside the numpy reference.

Sizes (``WORKLOADS``): on the CPU a 2-64-1 network at 256 points in float64; on the GPU a
1-64-64-1 network at 1,048,576 points in float32. Every framework computes the same network,
``u = W_L·tanh(… tanh(W_1·x + b_1) …) + b_L`` with weights stored (out, in) as nn.Dense keeps them.
"""
from __future__ import annotations

import _compare  # first: it pins the process and its thread pools before numpy loads
from _compare import Contender, Peers

import numpy as np  # noqa: E402

WORKLOADS = {"cpu": {"layers": (2, 64, 1), "points": 256},
             "gpu": {"layers": (1, 64, 64, 1), "points": 1_048_576}}
# relative to the largest value: float64 agrees to rounding, float32 to a few ulps of 10⁶ terms
TOLERANCE = {"cpu": 1e-10, "gpu": 1e-3}


def network(layers: tuple[int, ...], seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Weights (out, in) and biases (out,) in float64, scaled so that tanh is not saturated."""
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((fan_out, fan_in)) / np.sqrt(fan_in),
             rng.standard_normal(fan_out) * 0.1)
            for fan_in, fan_out in zip(layers[:-1], layers[1:])]


def points(count: int, dims: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (count, dims))


# ---- the numpy reference ----------------------------------------------------------------------
def numpy_laplacian(weights, x: np.ndarray) -> np.ndarray:
    """Σ_d ∂²u/∂x_d² by hand in float64, forward mode: per layer the value, one tangent per
    input direction and the second derivative summed over the directions. (N, 1)."""
    value = np.asarray(x, np.float64)
    tangents = [np.eye(value.shape[1])[d] for d in range(value.shape[1])]
    second = np.zeros((1, value.shape[1]))
    for index, (weight, bias) in enumerate(weights):
        value = value @ weight.T + bias
        tangents = [tangent @ weight.T for tangent in tangents]
        second = second @ weight.T
        if index < len(weights) - 1:
            value = np.tanh(value)
            slope = 1.0 - value * value                     # tanh'
            curvature = -2.0 * value * slope                # tanh''
            second = slope * second + curvature * sum(t * t for t in tangents)
            tangents = [slope * tangent for tangent in tangents]
    return second


def numpy_loss(weights, x: np.ndarray) -> float:
    return float(np.mean(numpy_laplacian(weights, x) ** 2))


def numpy_step_by_differences(weights, x: np.ndarray, step: float = 1e-5) -> list[np.ndarray]:
    """The gradient of mean(Δu²) w.r.t. every weight and bias by central differences (for a
    small network: two losses per entry)."""
    gradients = []
    for layer in range(len(weights)):
        for part in range(2):
            gradient = np.zeros_like(weights[layer][part])
            for index in np.ndindex(gradient.shape):
                losses = []
                for sign in (1.0, -1.0):
                    moved = [[w.copy(), b.copy()] for w, b in weights]
                    moved[layer][part][index] += sign * step
                    losses.append(numpy_loss(moved, x))
                gradient[index] = (losses[0] - losses[1]) / (2.0 * step)
            gradients.append(gradient)
    return gradients


# ---- hograd -------------------------------------------------------------------------------------
def hograd_network(hograd, weights, dtype):
    """nn.SequentialCell of nn.Dense layers holding ``weights``, tanh between them."""
    nn, precision = hograd.nn, hograd.float64 if dtype == np.float64 else hograd.float32
    return nn.SequentialCell([
        nn.Dense(w.shape[1], w.shape[0], weight_init=hograd.Tensor(w.astype(dtype)),
                 bias_init=hograd.Tensor(b.astype(dtype)), dtype=precision,
                 activation="tanh" if index < len(weights) - 1 else None)
        for index, (w, b) in enumerate(weights)])


def hograd_cells(hograd):
    """The Laplacian cells: collapsed Taylor mode and nested GradOperation, and the loss."""
    nn, ops, Tensor = hograd.nn, hograd.ops, hograd.Tensor

    class TaylorLaplacian(nn.Cell):
        """``hograd.laplacian``: one forward pass of (value, gradient, Laplacian)."""

        def __init__(self, net):
            super().__init__()
            self.net = net

        def construct(self, x):
            return hograd.laplacian(self.net)(x)

    class Gradient(nn.Cell):
        def __init__(self, net):
            super().__init__()
            self.net = net
            self.grad = ops.GradOperation()

        def construct(self, x):
            return self.grad(self.net)(x)

    class NestedLaplacian(nn.Cell):
        """Reverse over reverse: the gradient, then one Hessian-vector product per direction
        (rows are independent, so the product with a one-hot column per row is that column of
        every point's Hessian)."""

        def __init__(self, net):
            super().__init__()
            self.gradient = Gradient(net)
            self.hvp = ops.GradOperation(sens_param=True)

        def construct(self, x):
            total = None
            for d in range(x.shape[-1]):
                basis = np.zeros(x.shape, x.dtype.numpy)
                basis[:, d] = 1.0
                column = self.hvp(self.gradient)(x, Tensor(basis))[:, d:d + 1]
                total = column if total is None else total + column
            return total

    class PoissonLoss(nn.Cell):
        """mean(Δu²), the residual of Δu = 0."""

        def __init__(self, laplacian):
            super().__init__()
            self.laplacian = laplacian

        def construct(self, x):
            return ops.reduce_mean(ops.square(self.laplacian(x)))

    return TaylorLaplacian, NestedLaplacian, PoissonLoss


def hograd_contenders(peers: Peers, weights, x: np.ndarray, step: bool) -> list[Contender]:
    """hograd.laplacian and nested GradOperation: the Laplacian, or (``step``) the gradient of
    mean(Δu²) w.r.t. the network's parameters."""
    from hograd.core.staging import stage
    hograd = peers.hograd
    taylor, nested, loss = hograd_cells(hograd)
    tensor = peers.hograd_tensor(x)
    found = []
    for label, make in (("hograd.laplacian", taylor), ("hograd nested GradOperation", nested)):
        net = hograd_network(hograd, weights, peers.dtype)
        cell = make(net)
        if step:
            fn = hograd.ops.GradOperation(get_by_list=True)(
                loss(cell), hograd.ParameterTuple(net.trainable_params()))
            nodes = len(fn.graph(tensor).nodes)
        else:
            fn, nodes = cell, len(stage(cell, [tensor]).graph.nodes)
        found.append(Contender(label, "hograd", lambda fn=fn: fn(tensor), nodes=nodes))
    return found


# ---- JAX -----------------------------------------------------------------------------------------
def jax_functions(jax):
    """Two ways to the Laplacian in JAX: forward over forward per direction (the fastest here)
    and the trace of each point's Hessian (jacfwd of jacrev) under vmap (the textbook one)."""
    jnp = jax.numpy

    def mlp(params, x):
        for index, (weight, bias) in enumerate(params):
            x = x @ weight.T + bias
            if index < len(params) - 1:
                x = jnp.tanh(x)
        return x

    def forward_over_forward(params, x):
        total = 0.0
        for d in range(x.shape[1]):
            direction = jnp.zeros_like(x).at[:, d].set(1.0)
            slope = lambda v: jax.jvp(lambda w: mlp(params, w), (v,), (direction,))[1]  # noqa
            total = total + jax.jvp(slope, (x,), (direction,))[1]
        return total

    def hessian_trace(params, x):
        point = lambda v: mlp(params, v[None])[0, 0]  # noqa: E731
        return jax.vmap(lambda v: jnp.trace(jax.hessian(point)(v)))(x)[:, None]

    return {"jvp∘jvp per direction": forward_over_forward,
            "vmap(trace(hessian))": hessian_trace}


def jax_contenders(peers: Peers, weights, x: np.ndarray, step: bool) -> list[Contender]:
    jax = peers.jax
    params = [(peers.jax_array(w), peers.jax_array(b)) for w, b in weights]
    points_ = peers.jax_array(x)
    found = []
    for name, laplacian in jax_functions(jax).items():
        compiled = jax.jit(jax.grad(lambda p, v, lap=laplacian: (lap(p, v) ** 2).mean())
                           if step else laplacian)
        found.append(Contender(f"jax.jit {name}", "jax", lambda c=compiled: c(params, points_)))
    return found


# ---- torch ---------------------------------------------------------------------------------------
def torch_functions(torch):
    """Two ways to the Laplacian in torch: nested autograd.grad (one backward per direction)
    and torch.func's vmap of each point's Hessian trace."""
    from torch import func
    linear = torch.nn.functional.linear

    def mlp(params, x):
        for index, (weight, bias) in enumerate(params):
            x = linear(x, weight, bias)
            if index < len(params) - 1:
                x = torch.tanh(x)
        return x

    def nested(params, x, create_graph: bool = False):
        x = x.detach().requires_grad_(True)
        gradient, = torch.autograd.grad(mlp(params, x).sum(), x, create_graph=True)
        total = 0.0
        for d in range(x.shape[1]):
            row, = torch.autograd.grad(gradient[:, d].sum(), x, create_graph=create_graph,
                                       retain_graph=True)
            total = total + row[:, d:d + 1]
        return total

    def hessian_trace(params, x):
        point = lambda v: mlp(params, v[None])[0, 0]  # noqa: E731
        return func.vmap(lambda v: torch.trace(func.hessian(point)(v)))(x)[:, None]

    return mlp, nested, hessian_trace


def torch_contenders(peers: Peers, weights, x: np.ndarray, step: bool) -> list[Contender]:
    torch = peers.torch
    from torch import func
    _, nested, hessian_trace = torch_functions(torch)
    params = [(peers.torch_tensor(w, step), peers.torch_tensor(b, step)) for w, b in weights]
    flat = [tensor for pair in params for tensor in pair]
    points_ = peers.torch_tensor(x)
    if not step:
        return [Contender("torch nested autograd.grad", "torch", lambda: nested(params, points_)),
                Contender("torch.func vmap(trace(hessian))", "torch",
                          lambda: hessian_trace(params, points_))]

    def nested_step():
        loss = (nested(params, points_, create_graph=True) ** 2).mean()
        # the last bias does not reach the Laplacian: its gradient is zeros, not None
        return torch.autograd.grad(loss, flat, materialize_grads=True)

    detached = [(w.detach(), b.detach()) for w, b in params]
    func_step = func.grad(lambda p: (hessian_trace(p, points_) ** 2).mean())
    return [Contender("torch nested autograd.grad", "torch", nested_step),
            Contender("torch.func vmap(trace(hessian))", "torch", lambda: func_step(detached))]


# ---- the workloads -------------------------------------------------------------------------------
def contenders(peers: Peers, weights, x: np.ndarray, step: bool) -> list[Contender]:
    found = []
    if peers.hograd is not None:
        found += hograd_contenders(peers, weights, x, step)
    if peers.jax is not None:
        found += jax_contenders(peers, weights, x, step)
    if peers.torch is not None:
        found += torch_contenders(peers, weights, x, step)
    return found


def check(peers: Peers, found: list[Contender], weights, x: np.ndarray, results: dict,
          step: bool) -> tuple[dict[str, float], str]:
    """The Laplacians against the numpy one. The steps against the first peer's step (or the
    first contender's), which on a small float64 network is first checked against central
    differences of the numpy loss."""
    tolerance = TOLERANCE[peers.device]
    if not step:
        return (_compare.agreement(results, found, [numpy_laplacian(weights, x)], tolerance),
                "from the numpy Laplacian (forward mode by hand, float64), relative to its "
                "largest value")
    reference = next((c for c in found if c.framework != "hograd"), found[0])
    gradient = _compare.host(results[reference.label])
    others = [c for c in found if c is not reference]
    differences = _compare.agreement(results, others, gradient, tolerance)
    note = f"from {reference.label}, relative to each gradient's largest entry"
    if peers.device == "cpu" and sum(w.size + b.size for w, b in weights) <= 2000:
        differences |= _compare.agreement(results, [reference],
                                          numpy_step_by_differences(weights, x), 1e-6)
        note += " (which is compared with central differences of the numpy loss)"
    return differences, note


def differences(step: bool, layers: tuple[int, ...] = (2, 8, 1), count: int = 16,
                frameworks=("jax", "torch")) -> dict[str, float]:
    """The check alone on a small network on the CPU, with hograd and those of
    ``frameworks`` installed (the test suite runs this)."""
    peers = _compare.load("cpu", frameworks)
    weights, x = network(layers), points(count, layers[0])
    found = contenders(peers, weights, x, step)
    return check(peers, found, weights, x, _compare.first_calls(found, peers), step)[0]


def main(step: bool, script: str) -> None:
    options = _compare.OPTIONS
    peers = _compare.load(options.device)
    if options.device == "gpu" and _compare.gpu_absent(peers, script):
        return
    if peers.hograd is not None:
        _compare.warm_up_hograd(peers.hograd, peers.dtype)
    workload = WORKLOADS[options.device]
    layers, count = workload["layers"], workload["points"]
    weights, x = network(layers), points(count, layers[0])
    found = contenders(peers, weights, x, step)
    shape = "-".join(map(str, layers))
    what = ("H5: PINN step, d mean(Δu²)/dW" if step else "H4: Laplacian Δu") if layers[0] > 1 \
        else ("PINN step, d mean(u_xx²)/dW" if step else "PINN u_xx")
    _compare.run(f"{what} of a {shape} tanh MLP at {count:,} points", found, peers,
                 options.calls, lambda results: check(peers, found, weights, x, results, step))
