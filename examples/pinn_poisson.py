"""A physics-informed network for the 2-D Poisson problem on the unit square.

    -Δu = 2π² sin(πx) sin(πy) in (0, 1)²,   u = 0 on the boundary;   exact u = sin(πx) sin(πy).

The residual needs the Laplacian of the network's output w.r.t. its inputs, taken by nested
GradOperations (∂²u/∂x² and ∂²u/∂y²); training with Adam differentiates that once more w.r.t.
the weights, so each step runs a third-order derivative graph, compiled once (GRAPH_MODE).
Run: python examples/pinn_poisson.py [--quick]   (saves docs/images/pinn_poisson.png)
"""
import argparse
import math
import time

import numpy as np

import hograd
from hograd import Tensor, nn, ops


class Network(nn.Cell):
    """u(x, y): two tanh layers."""

    def __init__(self, width: int = 24):
        super().__init__()
        self.body = nn.SequentialCell([nn.Dense(2, width, activation="tanh"),
                                       nn.Dense(width, width, activation="tanh"),
                                       nn.Dense(width, 1)])

    def construct(self, points):
        return self.body(points)


class PartialDerivative(nn.Cell):
    """∂f/∂(column k) of a pointwise function f of (N, 2) points, as an (N, 1) column."""

    def __init__(self, fn, column: int):
        super().__init__()
        self.fn, self.column = fn, column
        self.grad = ops.GradOperation()

    def construct(self, points):
        k = self.column
        return self.grad(self.fn)(points)[:, k:k + 1]


class Laplacian(nn.Cell):
    """Δu = ∂²u/∂x² + ∂²u/∂y², each a derivative of a derivative."""

    def __init__(self, u):
        super().__init__()
        self.u_xx = PartialDerivative(PartialDerivative(u, 0), 0)
        self.u_yy = PartialDerivative(PartialDerivative(u, 1), 1)

    def construct(self, points):
        return self.u_xx(points) + self.u_yy(points)


def source(points):
    x, y = points[:, 0:1], points[:, 1:2]
    return 2 * math.pi ** 2 * np.sin(math.pi * x) * np.sin(math.pi * y)


def exact(points):
    return np.sin(math.pi * points[:, 0:1]) * np.sin(math.pi * points[:, 1:2])


class PoissonLoss(nn.Cell):
    """mean((Δu + f)²) inside + 10·mean(u²) on the boundary."""

    def __init__(self, u):
        super().__init__()
        self.laplacian = Laplacian(u)
        self.u = u          # assigned last, so u's Parameters are named u.body.…

    def construct(self, interior, forcing, boundary):
        residual = self.laplacian(interior) + forcing
        edge = self.u(boundary)
        return ops.reduce_mean(residual * residual) + 10.0 * ops.reduce_mean(edge * edge)


def collocation(n_side: int):
    """Interior points of a grid, and points along the four edges."""
    inner = (np.arange(n_side) + 0.5) / n_side
    gx, gy = np.meshgrid(inner, inner)
    interior = np.stack([gx.ravel(), gy.ravel()], axis=1)
    edge = np.linspace(0.0, 1.0, n_side + 1)
    zeros, ones = np.zeros_like(edge), np.ones_like(edge)
    boundary = np.concatenate([np.stack(pair, axis=1) for pair in
                               [(edge, zeros), (edge, ones), (zeros, edge), (ones, edge)]])
    return interior.astype(np.float32), boundary.astype(np.float32)


def train(steps: int = 4000, n_side: int = 20, width: int = 32, learning_rate: float = 0.01,
          report_every: int = 250, seed: int = 0):
    """Train; returns (losses, the network, the largest error against the exact solution on a
    41×41 grid)."""
    hograd.set_context(mode=hograd.GRAPH_MODE)
    hograd.set_seed(seed)
    interior, boundary = collocation(n_side)
    u = Network(width)
    schedule = nn.ExponentialDecayLR(learning_rate, 0.5, decay_steps=max(steps // 3, 1))
    train_step = nn.TrainOneStepCell(PoissonLoss(u), nn.Adam(u.trainable_params(), schedule))
    inputs = (Tensor(interior), Tensor(source(interior).astype(np.float32)), Tensor(boundary))
    losses, started = [], time.perf_counter()
    for step in range(steps):
        losses.append(float(train_step(*inputs).asnumpy()))
        if report_every and (step % report_every == 0 or step == steps - 1):
            print(f"step {step:5d}  loss {losses[-1]:.5f}  ({time.perf_counter() - started:.0f} s)",
                  flush=True)
    grid = evaluation_grid()
    error = float(np.max(np.abs(u(Tensor(grid)).asnumpy() - exact(grid))))
    return losses, u, error


def evaluation_grid(n: int = 41):
    axis = np.linspace(0.0, 1.0, n)
    gx, gy = np.meshgrid(axis, axis)
    return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)


def plot(u, losses) -> None:
    from plotting import pyplot, save
    plt = pyplot()
    if plt is None:
        return
    grid = evaluation_grid()
    n = int(round(math.sqrt(len(grid))))
    predicted = u(Tensor(grid)).asnumpy().reshape(n, n)
    truth = exact(grid).reshape(n, n)
    figure, axes = plt.subplots(1, 4, figsize=(15, 3.4), constrained_layout=True)
    for axis, values, title in [(axes[0], predicted, "network u"), (axes[1], truth, "exact u"),
                                (axes[2], np.abs(predicted - truth), "|error|")]:
        image = axis.imshow(values, origin="lower", extent=(0, 1, 0, 1), cmap="viridis")
        axis.set_title(title)
        figure.colorbar(image, ax=axis, fraction=0.046)
    axes[3].semilogy(losses)
    axes[3].set_title("loss")
    axes[3].set_xlabel("Adam step")
    save(figure, "pinn_poisson.png")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (as the tests do)")
    args = parser.parse_args()
    losses, u, error = train(steps=200, n_side=8, width=16) if args.quick else train()
    print(f"loss {losses[0]:.3f} → {losses[-1]:.5f}; largest error against the exact "
          f"solution: {error:.4f}")
    plot(u, losses)
