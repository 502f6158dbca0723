"""A physics-informed network: fit u(x) with u''(x) = −sin(x) on [0, π], u(0) = u(π) = 0.

The residual needs d²u/dx² of the network's output w.r.t. its input: two nested
GradOperations; the training step differentiates that once more w.r.t. the weights.
Run: python examples/pinn_poisson.py   (the exact solution is u = sin x)
"""
import numpy as np

from hograd import Parameter, ParameterTuple, Tensor, context, nn, ops


class Network(nn.Cell):
    def __init__(self, width: int = 16, seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.w1 = Parameter(Tensor(rng.standard_normal((1, width))), name="w1")
        self.b1 = Parameter(Tensor(rng.standard_normal((1, width))), name="b1")
        self.w2 = Parameter(Tensor(rng.standard_normal((width, 1)) * 0.1), name="w2")

    def construct(self, x):
        return ops.matmul(ops.tanh(ops.matmul(x, self.w1) + self.b1), self.w2)


class Derivative(nn.Cell):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        self.grad = ops.GradOperation()

    def construct(self, x):
        return self.grad(self.fn)(x)


class PhysicsLoss(nn.Cell):
    def __init__(self, u):
        super().__init__()
        self.u = u
        self.u_xx = Derivative(Derivative(u))

    def construct(self, x, boundary):
        residual = self.u_xx(x) + ops.sin(x)
        edges = self.u(boundary)
        return ops.reduce_mean(residual * residual) + ops.reduce_mean(edges * edges)


def train(steps: int = 1000, learning_rate: float = 0.05) -> tuple[list[float], float]:
    context.set_context(mode=context.GRAPH_MODE)
    x = Tensor(np.linspace(0.0, np.pi, 32).reshape(-1, 1))
    boundary = Tensor(np.array([[0.0], [np.pi]]))
    u = Network()
    loss = PhysicsLoss(u)
    weights = ParameterTuple(u.trainable_params())
    step = ops.GradOperation(get_by_list=True)(loss, weights)
    history = []
    for _ in range(steps):
        history.append(float(loss(x, boundary).asnumpy()))
        for weight, grad in zip(weights, step(x, boundary)):
            weight.set_data(weight.asnumpy() - learning_rate * grad.asnumpy())
    error = float(np.max(np.abs(u(x).asnumpy().ravel() - np.sin(x.asnumpy().ravel()))))
    return history, error


if __name__ == "__main__":
    losses, error = train()
    print(f"physics loss: {losses[0]:.4f} at the start, {losses[-1]:.5f} after {len(losses)} "
          f"steps; largest error against sin x: {error:.4f}")
