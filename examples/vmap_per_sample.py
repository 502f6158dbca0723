"""vmap in three uses: per-sample gradients of an MLP, the full Hessian for a Newton step, and
the Jacobian of a PINN residual at every collocation point.

- ``vmap(grad(loss), in_axes=(None, 0, 0))`` gives one gradient per example (for clipping,
  influence functions, Fisher diagonals) in one batched pass;
- ``hograd.hessian`` batches its JVPs over basis vectors the same way (see
  examples/newton_logistic.py for Newton's method with it);
- ``vmap(jacrev(residual))`` gives, per collocation point, the Jacobian of the PDE residual
  w.r.t. the point — the residual itself holds a Laplacian, so this is a third derivative of
  the network, batched over points.
Run: python examples/vmap_per_sample.py
"""
import numpy as np

import hograd
from hograd import Tensor, ops


def mlp(w1, w2, x):
    """A 1-hidden-layer tanh network of one example x (a vector)."""
    return ops.matmul(ops.tanh(ops.matmul(ops.reshape(x, (1, -1)), w1)), w2)


def cross_entropy(w1, w2, x, label):
    return -ops.reduce_sum(ops.log_softmax(mlp(w1, w2, x), axis=-1) * label)


def per_sample_gradients(w1, w2, xs, labels):
    """d loss_i / d w1 for every example i: shape (batch, *w1.shape)."""
    return hograd.vmap(hograd.grad(cross_entropy), in_axes=(None, None, 0, 0))(w1, w2, xs, labels)


def newton_step(w, x, y):
    """One Newton step on the mean logistic loss with the full Hessian."""
    def loss(v):
        logits = ops.matmul(x, v)
        return ops.reduce_mean(ops.softplus(logits) - y * logits)

    n = w.shape[0]
    hessian = ops.reshape(hograd.hessian(loss)(w), (n, n))
    return w - ops.MatrixSolve()(hessian, hograd.grad(loss)(w))


def pinn_residual_jacobian(w1, w2, points):
    """Per point p: the Jacobian of r(p) = Δu(p) + sin(p₀)·sin(p₁) w.r.t. p, u a network."""
    def u(p):
        return ops.reduce_sum(mlp(w1, w2, p))

    def residual(p):
        laplacian = ops.reduce_sum(ops.reshape(hograd.hessian(u)(p), (-1,))[::3])
        return laplacian + ops.sin(p[0]) * ops.sin(p[1])

    return hograd.vmap(hograd.jacrev(residual))(points)


def main() -> None:
    rng = np.random.default_rng(0)
    w1, w2 = Tensor(rng.standard_normal((2, 16)) * 0.5), Tensor(rng.standard_normal((16, 3)))
    xs, labels = Tensor(rng.standard_normal((8, 2))), Tensor(np.eye(3)[rng.integers(0, 3, 8)])
    grads = per_sample_gradients(w1, w2, xs, labels)
    print("per-sample gradient norms:", np.round(np.linalg.norm(
        grads.asnumpy().reshape(8, -1), axis=1), 4))

    x = np.concatenate([rng.standard_normal((200, 3)), np.ones((200, 1))], axis=1)
    y = (rng.uniform(size=(200, 1)) < 1 / (1 + np.exp(-x @ [[1.0], [-1.0], [0.5], [0.2]])))
    w = Tensor(np.zeros((4, 1)))
    for k in range(5):
        w = newton_step(w, Tensor(x), Tensor(y.astype(np.float64)))
        print(f"Newton step {k}: w = {np.round(w.asnumpy().ravel(), 4)}")

    w2_scalar = Tensor(rng.standard_normal((16, 1)))
    points = Tensor(rng.uniform(0, np.pi, size=(5, 2)))
    print("PINN residual Jacobians per point:\n",
          np.round(pinn_residual_jacobian(w1, w2_scalar, points).asnumpy(), 4))


if __name__ == "__main__":
    main()
