"""Newton's method for logistic regression: the full Hessian from hograd, the step from a
hograd solve.

The gradient w.r.t. the weights is GradOperation(get_by_list); the Hessian is
``hograd.hessian`` (forward over reverse, its Jacobian-vector products batched over the basis
vectors by vmap: one pass, not one row at a time); the Newton step solves H·Δ = g with
ops.MatrixSolve and is written back with ops.assign — all of it hograd ops. Newton converges quadratically: the gradient norm roughly squares from step to step.
Run: python examples/newton_logistic.py [--quick]   (saves docs/images/newton_logistic.png)
"""
import argparse

import numpy as np

import hograd
from hograd import Parameter, Tensor, nn, ops


class LogisticLoss(nn.Cell):
    """mean(log(1 + e^z) − y·z), z = x·w: the negative log-likelihood."""

    def __init__(self, n_features: int):
        super().__init__()
        self.w = Parameter(Tensor(np.zeros((n_features, 1))), name="w")

    def construct(self, x, y):
        return logistic_loss(self.w, x, y)


def logistic_loss(w, x, y):
    """The loss as a function of the weights, for hograd.hessian."""
    logits = ops.matmul(x, w)
    return ops.reduce_mean(ops.softplus(logits) - y * logits)


def data(n: int = 400, n_features: int = 6, seed: int = 0):
    """Features (with a constant column) and 0/1 labels drawn from a logistic model."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.standard_normal((n, n_features - 1)), np.ones((n, 1))], axis=1)
    true_w = rng.uniform(-1.5, 1.5, size=(n_features, 1))
    y = (rng.uniform(size=(n, 1)) < 1 / (1 + np.exp(-x @ true_w))).astype(np.float64)
    return Tensor(x), Tensor(y)


class NewtonStep(nn.Cell):
    """One Newton step, w ← w − H⁻¹g; returns |g| before the step. Compiled once in GRAPH_MODE:
    the second-order graph, the solve and the assignment are one graph."""

    def __init__(self, loss: LogisticLoss):
        super().__init__()
        self.loss = loss
        self.gradient = ops.GradOperation(get_by_list=True)(loss, loss.w)
        self.second = hograd.hessian(logistic_loss)

    def hessian(self, x, y):
        n = self.loss.w.shape[0]
        # hograd.hessian gives shape w.shape + w.shape, (n, 1, n, 1): the matrix is (n, n)
        return ops.reshape(self.second(self.loss.w, x, y), (n, n))

    def construct(self, x, y):
        gradient = self.gradient(x, y)
        step = ops.MatrixSolve()(self.hessian(x, y), gradient)
        ops.assign(self.loss.w, self.loss.w - step)
        return ops.sqrt(ops.reduce_sum(gradient * gradient))


def hessian_and_gradient(loss: LogisticLoss, x, y):
    """The Hessian and gradient w.r.t. the weights, as numpy arrays."""
    step = NewtonStep(loss)
    return step.hessian(x, y).asnumpy(), step.gradient(x, y).asnumpy()


def newton(steps: int = 8, n: int = 400, n_features: int = 6, seed: int = 0,
           verbose: bool = True) -> list[float]:
    """Run Newton's method; the gradient norm before each step."""
    hograd.set_context(mode=hograd.GRAPH_MODE)
    x, y = data(n, n_features, seed)
    loss = LogisticLoss(n_features)
    step = NewtonStep(loss)
    norms = []
    for k in range(steps):
        norms.append(float(step(x, y).asnumpy()))
        if verbose:
            print(f"Newton step {k}: |gradient| = {norms[-1]:.3e}  loss = "
                  f"{float(loss(x, y).asnumpy()):.6f}", flush=True)
    return norms


def plot(norms) -> None:
    from plotting import pyplot, save
    plt = pyplot()
    if plt is None:
        return
    figure, axis = plt.subplots(figsize=(4.8, 3.4), constrained_layout=True)
    axis.semilogy(range(len(norms)), norms, "o-")
    axis.set_xlabel("Newton step")
    axis.set_ylabel("|gradient|")
    axis.set_title("Newton on logistic regression: quadratic convergence")
    axis.grid(True, which="major", alpha=0.3)
    save(figure, "newton_logistic.png")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (as the tests do)")
    args = parser.parse_args()
    norms = newton(steps=6) if args.quick else newton()
    plot(norms)
