"""Training an interatomic-potential-style model on forces: F = −dE/dx, loss on F.

The loss's gradient w.r.t. the weights needs mixed second derivatives ∂²E/∂x∂w: an inner
GradOperation w.r.t. the positions, an outer one (get_by_list) w.r.t. the weights.
Run: python examples/forces_training.py
"""
import numpy as np

from hograd import Parameter, ParameterTuple, Tensor, context, nn, ops


class Energy(nn.Cell):
    """E(x) = Σ tanh(x W₁) w₂: a small smooth model of an energy."""

    def __init__(self, width: int = 16, seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.w1 = Parameter(Tensor(rng.standard_normal((3, width)) * 0.5), name="w1")
        self.w2 = Parameter(Tensor(rng.standard_normal((width, 1)) * 0.5), name="w2")

    def construct(self, positions):
        return ops.reduce_sum(ops.matmul(ops.tanh(ops.matmul(positions, self.w1)), self.w2))


class Forces(nn.Cell):
    def __init__(self, energy):
        super().__init__()
        self.energy = energy
        self.grad = ops.GradOperation()

    def construct(self, positions):
        return -self.grad(self.energy)(positions)


class ForceLoss(nn.Cell):
    def __init__(self, forces):
        super().__init__()
        self.forces = forces

    def construct(self, positions, reference):
        difference = self.forces(positions) - reference
        return ops.reduce_mean(difference * difference)


def train(steps: int = 200, learning_rate: float = 0.1) -> list[float]:
    context.set_context(mode=context.GRAPH_MODE)
    rng = np.random.default_rng(1)
    positions = Tensor(rng.standard_normal((8, 3)))
    # reference forces of a harmonic well, F = −x
    reference = Tensor(-positions.asnumpy())
    energy = Energy()
    loss = ForceLoss(Forces(energy))
    weights = ParameterTuple(energy.trainable_params())
    loss_grad = ops.GradOperation(get_by_list=True)(loss, weights)
    history = []
    for _ in range(steps):
        history.append(float(loss(positions, reference).asnumpy()))
        for weight, grad in zip(weights, loss_grad(positions, reference)):
            weight.set_data(weight.asnumpy() - learning_rate * grad.asnumpy())
    return history


if __name__ == "__main__":
    losses = train()
    print(f"force loss: {losses[0]:.4f} at the start, {losses[-1]:.4f} after {len(losses)} steps")
