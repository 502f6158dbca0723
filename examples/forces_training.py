"""A Deep-Potential-style energy model of a small atomic cluster, trained on energies and forces.

Each atom's energy is a small network of a smooth descriptor of its neighbourhood (radial
basis functions of its distances to the other atoms, summed); the total energy is their sum.
Forces are F = −∂E/∂x, taken by GradOperation, and the loss weighs energy and force errors,
so every training step needs the mixed second derivative ∂²E/∂x∂w. The reference is a Morse
pair potential, whose forces are known exactly.
Run: python examples/forces_training.py [--quick]   (saves docs/images/forces_training.png)
"""
import argparse
import itertools
import time

import numpy as np

import hograd
from hograd import Tensor, nn, ops

N_ATOMS = 5


# ---- the reference: a Morse potential, energies and exact forces ------------------------------
def morse(positions, depth=1.0, stiffness=1.5, r0=1.2):
    """Energies (B,) and forces (B, N, 3) of configurations (B, N, 3)."""
    energies = np.zeros(len(positions))
    forces = np.zeros_like(positions)
    for i, j in itertools.combinations(range(positions.shape[1]), 2):
        d = positions[:, i] - positions[:, j]
        r = np.linalg.norm(d, axis=1)
        e = np.exp(-stiffness * (r - r0))
        energies += depth * ((1 - e) ** 2 - 1)
        dv_dr = 2 * depth * stiffness * e * (1 - e)
        pull = (dv_dr / r)[:, None] * d
        forces[:, i] -= pull
        forces[:, j] += pull
    return energies, forces


def configurations(count: int, seed: int):
    """A compact cluster of N_ATOMS, jiggled: positions (count, N, 3)."""
    rng = np.random.default_rng(seed)
    base = np.array([[0, 0, 0], [1.2, 0, 0], [0.6, 1.04, 0], [0.6, 0.35, 0.98],
                     [-0.6, 0.9, 0.6]], dtype=float)[:N_ATOMS]
    return base + rng.normal(scale=0.12, size=(count, N_ATOMS, 3))


# ---- the model --------------------------------------------------------------------------------
PAIRS = [(i, j) for i in range(N_ATOMS) for j in range(N_ATOMS) if i != j]


class Descriptor(nn.Cell):
    """For every atom, Σ over the other atoms of K Gaussian radial basis functions of their
    distance: (B, N, 3) → (B, N, K)."""

    def __init__(self, centers=np.linspace(0.6, 2.4, 8), width: float = 0.35):
        super().__init__()
        self.first = Tensor(np.array([i for i, _ in PAIRS], np.int32))
        self.second = Tensor(np.array([j for _, j in PAIRS], np.int32))
        self.centers = Tensor(centers.astype(np.float32))
        self.inverse_width = 1.0 / width
        owner = np.zeros((N_ATOMS, len(PAIRS)), np.float32)
        for p, (i, _) in enumerate(PAIRS):
            owner[i, p] = 1.0
        self.owner = Tensor(owner)

    def construct(self, positions):
        difference = ops.gather(positions, self.first, 1) - ops.gather(positions, self.second, 1)
        distance = ops.sqrt(ops.reduce_sum(difference * difference, -1, keep_dims=True))
        basis = ops.exp(-ops.square((distance - self.centers) * self.inverse_width))
        return self.owner @ basis                  # (N, P) @ (B, P, K): batched matmul


class Energy(nn.Cell):
    """E = Σ_atoms fitting_net(descriptor(atom))."""

    def __init__(self, width: int = 24):
        super().__init__()
        self.descriptor = Descriptor()
        self.fitting = nn.SequentialCell([nn.Dense(8, width, activation="tanh"),
                                          nn.Dense(width, width, activation="tanh"),
                                          nn.Dense(width, 1)])

    def construct(self, positions):
        return ops.reduce_sum(self.fitting(self.descriptor(positions)), (1, 2))


class Forces(nn.Cell):
    """F = −∂E/∂x."""

    def __init__(self, energy):
        super().__init__()
        self.energy = energy
        self.grad = ops.GradOperation()

    def construct(self, positions):
        return -self.grad(self.energy)(positions)


class EnergyForceLoss(nn.Cell):
    """mean((E − E_ref)²)/N² + force_weight · mean((F − F_ref)²), as DeePMD weighs them."""

    def __init__(self, energy, force_weight: float = 10.0):
        super().__init__()
        self.forces = Forces(energy)
        self.energy = energy    # assigned last, so its Parameters are named energy.…
        self.force_weight = force_weight

    def parts(self, positions, energies, forces):
        energy_error = ops.reduce_mean(ops.square(self.energy(positions) - energies))
        force_error = ops.reduce_mean(ops.square(self.forces(positions) - forces))
        return energy_error / N_ATOMS ** 2, force_error

    def construct(self, positions, energies, forces):
        energy_part, force_part = self.parts(positions, energies, forces)
        return energy_part + self.force_weight * force_part


def dataset(count: int, seed: int):
    positions = configurations(count, seed)
    energies, forces = morse(positions)
    return (Tensor(positions.astype(np.float32)), Tensor(energies.astype(np.float32)),
            Tensor(forces.astype(np.float32)))


def train(steps: int = 1500, count: int = 64, width: int = 24, learning_rate: float = 0.005,
          report_every: int = 100, seed: int = 0):
    """Train on ``count`` configurations; returns (history of (energy, force) errors, the
    model, test-set (reference, predicted) forces)."""
    hograd.set_context(mode=hograd.GRAPH_MODE)
    hograd.set_seed(seed)
    train_set, test_set = dataset(count, seed), dataset(32, seed + 1)
    energy = Energy(width)
    # start the per-atom energies at the training set's mean, so training fits the variation
    offset = float(train_set[1].asnumpy().mean())
    energy.fitting[2].bias.set_data(np.array([offset / N_ATOMS], np.float32))
    loss = EnergyForceLoss(energy)
    schedule = nn.ExponentialDecayLR(learning_rate, 0.3, decay_steps=max(steps, 1))
    train_step = nn.TrainOneStepCell(loss, nn.Adam(energy.trainable_params(), schedule))
    history, started = [], time.perf_counter()
    for step in range(steps):
        train_step(*train_set)
        if step % 10 == 0 or step == steps - 1:
            history.append((step,) + tuple(float(p.asnumpy()) for p in loss.parts(*train_set)))
        if report_every and (step % report_every == 0 or step == steps - 1):
            _, e, f = history[-1]
            print(f"step {step:5d}  energy error {e:.2e}  force error {f:.2e}  "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
    predicted = loss.forces(test_set[0]).asnumpy()
    return history, energy, (test_set[2].asnumpy(), predicted)


def plot(history, parity) -> None:
    from plotting import pyplot, save
    plt = pyplot()
    if plt is None:
        return
    steps, energy_errors, force_errors = np.array(history).T
    figure, (curves, scatter) = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
    curves.semilogy(steps, energy_errors, label="energy (per atom²)")
    curves.semilogy(steps, force_errors, label="force")
    curves.set_xlabel("Adam step")
    curves.set_title("training errors (mean squared)")
    curves.legend()
    reference, predicted = (a.ravel() for a in parity)
    scatter.plot(reference, predicted, ".", markersize=3)
    lo, hi = reference.min(), reference.max()
    scatter.plot([lo, hi], [lo, hi], "k--", linewidth=0.8)
    scatter.set_xlabel("Morse force")
    scatter.set_ylabel("model force −∂E/∂x")
    scatter.set_title("force parity (test configurations)")
    save(figure, "forces_training.png")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (as the tests do)")
    args = parser.parse_args()
    history, energy, parity = train(steps=150, count=16, width=12) if args.quick else train()
    rms = float(np.sqrt(np.mean((parity[0] - parity[1]) ** 2)))
    print(f"force error {history[0][2]:.3e} → {history[-1][2]:.3e}; test force RMS error "
          f"{rms:.3f} (forces have RMS {float(np.sqrt(np.mean(parity[0] ** 2))):.3f})")
    plot(history, parity)
