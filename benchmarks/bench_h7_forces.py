"""H7 (issue 9): a force-training step of a Deep-Potential-style model, hograd beside JAX and torch.

Run: python benchmarks/bench_h7_forces.py [--calls N] [--core N]    (CPU only: see below)

The model of examples/forces_training.py at the size of a small molecular-dynamics cell:
64 atoms, each with a fixed list of its 32 nearest neighbours (2,048 pairs, positions gathered by
pair index), 8 Gaussian radial basis functions of each pair's distance summed per atom, a
fitting net 8-24-24-1 tanh per atom, E = Σ atoms. Forces are F = −∂E/∂x (GradOperation), the
loss is mean((E − E_ref)²)/N² + 10·mean((F − F_ref)²) over 4 configurations (references: a Morse
potential over the same pairs), and the step is the gradient of the loss w.r.t. all weights:
a mixed second derivative ∂²E/∂x∂w. float64, one pinned core.

Peers: ``jax.jit(jax.grad(loss))`` with forces from ``jax.grad``; torch's ``autograd.grad`` of
the loss with forces from ``autograd.grad(create_graph=True)``. The gradients are checked to
agree (to 1e-10, relative) before timing. Issue 9 times this workload on the CPU only;
``--device gpu`` says so and exits.
"""
from __future__ import annotations

import _compare  # first: it pins the process and its thread pools before numpy loads
from _compare import Contender, Peers

import numpy as np  # noqa: E402

ATOMS, NEIGHBOURS, CONFIGURATIONS = 64, 32, 4
CENTERS, WIDTH = np.linspace(0.8, 3.6, 8), 0.4     # the radial basis
FITTING = (8, 24, 24, 1)
FORCE_WEIGHT = 10.0
TOLERANCE = 1e-10


# ---- the data: configurations, neighbour list, Morse references ----------------------------------
def configurations(count: int = CONFIGURATIONS, atoms: int = ATOMS, seed: int = 0) -> np.ndarray:
    """A jiggled simple-cubic cluster (spacing 1.1): positions (count, atoms, 3)."""
    side = round(atoms ** (1 / 3))
    grid = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), -1).reshape(-1, 3)
    rng = np.random.default_rng(seed)
    return 1.1 * grid[:atoms] + rng.normal(scale=0.1, size=(count, atoms, 3))


def neighbour_list(positions: np.ndarray, neighbours: int = NEIGHBOURS
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Each atom's ``neighbours`` nearest other atoms in the first configuration, fixed: pair
    p = (first[p], second[p]), sorted by first atom, so a per-atom sum is a reshape and a sum."""
    distance = np.linalg.norm(positions[0][:, None] - positions[0][None], axis=-1)
    np.fill_diagonal(distance, np.inf)
    nearest = np.argsort(distance, axis=1)[:, :neighbours]
    first = np.repeat(np.arange(len(distance)), neighbours)
    return first.astype(np.int32), nearest.reshape(-1).astype(np.int32)


def morse(positions, first, second, depth=0.3, stiffness=1.5, r0=1.2):
    """Energies (B,) and forces (B, N, 3) of ½ Σ_pairs V(r) (the list is directed)."""
    difference = positions[:, first] - positions[:, second]
    r = np.linalg.norm(difference, axis=-1)
    decay = np.exp(-stiffness * (r - r0))
    energies = 0.5 * np.sum(depth * ((1 - decay) ** 2 - 1), axis=1)
    pull = (0.5 * 2 * depth * stiffness * decay * (1 - decay) / r)[..., None] * difference
    forces = np.zeros_like(positions)
    for b in range(len(positions)):
        np.add.at(forces[b], first, -pull[b])
        np.add.at(forces[b], second, pull[b])
    return energies, forces


def fitting_net(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Weights (out, in) and biases of the 8-24-24-1 fitting net, float64."""
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((fan_out, fan_in)) / np.sqrt(fan_in),
             rng.standard_normal(fan_out) * 0.1)
            for fan_in, fan_out in zip(FITTING[:-1], FITTING[1:])]


def workload(atoms: int = ATOMS, neighbours: int = NEIGHBOURS, count: int = CONFIGURATIONS):
    positions = configurations(count, atoms)
    first, second = neighbour_list(positions, neighbours)
    energies, forces = morse(positions, first, second)
    return positions, first, second, energies, forces, fitting_net()


# ---- hograd --------------------------------------------------------------------------------------
def hograd_contender(peers: Peers, data) -> Contender:
    hograd = peers.hograd
    nn, ops, Tensor = hograd.nn, hograd.ops, hograd.Tensor
    positions, first, second, energies, forces, weights = data
    neighbours = len(first) // positions.shape[1]

    class Descriptor(nn.Cell):
        """Per atom, Σ over its neighbours of K Gaussians of their distance: (B, N, K)."""

        def __init__(self):
            super().__init__()
            self.first, self.second = Tensor(first), Tensor(second)
            self.centers = Tensor(CENTERS)
            self.inverse_width = 1.0 / WIDTH

        def construct(self, x):
            difference = ops.gather(x, self.first, 1) - ops.gather(x, self.second, 1)
            distance = ops.sqrt(ops.reduce_sum(difference * difference, -1, keep_dims=True))
            basis = ops.exp(-ops.square((distance - self.centers) * self.inverse_width))
            per_pair = ops.reshape(basis, (x.shape[0], x.shape[1], neighbours, len(CENTERS)))
            return ops.reduce_sum(per_pair, 2)

    class Energy(nn.Cell):
        def __init__(self):
            super().__init__()
            self.descriptor = Descriptor()
            self.fitting = nn.SequentialCell([
                nn.Dense(w.shape[1], w.shape[0], weight_init=Tensor(w), bias_init=Tensor(b),
                         dtype=hograd.float64,
                         activation="tanh" if index < len(weights) - 1 else None)
                for index, (w, b) in enumerate(weights)])

        def construct(self, x):
            return ops.reduce_sum(self.fitting(self.descriptor(x)), (1, 2))

    class Loss(nn.Cell):
        def __init__(self, energy):
            super().__init__()
            self.energy = energy
            self.grad = ops.GradOperation()

        def construct(self, x, energies_, forces_):
            predicted = -self.grad(self.energy)(x)
            energy_error = ops.reduce_mean(ops.square(self.energy(x) - energies_))
            force_error = ops.reduce_mean(ops.square(predicted - forces_))
            return energy_error / x.shape[1] ** 2 + FORCE_WEIGHT * force_error

    energy = Energy()
    step = ops.GradOperation(get_by_list=True)(Loss(energy),
                                               hograd.ParameterTuple(energy.trainable_params()))
    args = [Tensor(a) for a in (positions, energies, forces)]
    return Contender("hograd GradOperation step", "hograd", lambda: step(*args),
                     nodes=len(step.graph(*args).nodes))


# ---- JAX and torch -------------------------------------------------------------------------------
def jax_contender(peers: Peers, data) -> Contender:
    jax, jnp = peers.jax, peers.jax.numpy
    positions, first, second, energies, forces, weights = data
    neighbours = len(first) // positions.shape[1]
    first_, second_ = jnp.asarray(first), jnp.asarray(second)

    def energy(params, x):
        difference = jnp.take(x, first_, axis=1) - jnp.take(x, second_, axis=1)
        distance = jnp.sqrt(jnp.sum(difference * difference, -1, keepdims=True))
        basis = jnp.exp(-jnp.square((distance - CENTERS) / WIDTH))
        h = basis.reshape(x.shape[0], x.shape[1], neighbours, len(CENTERS)).sum(2)
        for index, (w, b) in enumerate(params):
            h = h @ w.T + b
            if index < len(params) - 1:
                h = jnp.tanh(h)
        return h.sum((1, 2))

    def loss(params, x, energies_, forces_):
        predicted = -jax.grad(lambda v: energy(params, v).sum())(x)
        energy_error = jnp.mean(jnp.square(energy(params, x) - energies_))
        return (energy_error / x.shape[1] ** 2 +
                FORCE_WEIGHT * jnp.mean(jnp.square(predicted - forces_)))

    step = jax.jit(jax.grad(loss))
    params = [(peers.jax_array(w), peers.jax_array(b)) for w, b in weights]
    args = [peers.jax_array(a) for a in (positions, energies, forces)]
    return Contender("jax.jit grad (forces by jax.grad)", "jax", lambda: step(params, *args))


def torch_contender(peers: Peers, data) -> Contender:
    torch = peers.torch
    linear = torch.nn.functional.linear
    positions, first, second, energies, forces, weights = data
    neighbours = len(first) // positions.shape[1]
    first_ = torch.as_tensor(first, dtype=torch.long, device=peers.torch_device)
    second_ = torch.as_tensor(second, dtype=torch.long, device=peers.torch_device)
    centers = peers.torch_tensor(CENTERS)
    params = [(peers.torch_tensor(w, True), peers.torch_tensor(b, True)) for w, b in weights]
    flat = [tensor for pair in params for tensor in pair]
    x, energies_, forces_ = (peers.torch_tensor(a) for a in (positions, energies, forces))

    def energy(v):
        difference = v[:, first_] - v[:, second_]
        distance = torch.sqrt(torch.sum(difference * difference, -1, keepdim=True))
        basis = torch.exp(-torch.square((distance - centers) / WIDTH))
        h = basis.reshape(v.shape[0], v.shape[1], neighbours, len(CENTERS)).sum(2)
        for index, (w, b) in enumerate(params):
            h = linear(h, w, b)
            if index < len(params) - 1:
                h = torch.tanh(h)
        return h.sum((1, 2))

    def step():
        v = x.detach().requires_grad_(True)
        predicted_energy = energy(v)
        gradient, = torch.autograd.grad(predicted_energy.sum(), v, create_graph=True)
        loss = (torch.mean(torch.square(predicted_energy - energies_)) / v.shape[1] ** 2 +
                FORCE_WEIGHT * torch.mean(torch.square(-gradient - forces_)))
        return torch.autograd.grad(loss, flat)

    return Contender("torch autograd.grad (create_graph forces)", "torch", step)


# ---- the workload --------------------------------------------------------------------------------
def contenders(peers: Peers, data) -> list[Contender]:
    found = [hograd_contender(peers, data)] if peers.hograd is not None else []
    if peers.jax is not None:
        found.append(jax_contender(peers, data))
    if peers.torch is not None:
        found.append(torch_contender(peers, data))
    return found


def check(found: list[Contender], results: dict) -> tuple[dict[str, float], str]:
    """Every step against the first peer's; with no peer installed there is nothing to check
    hograd's against, and the table says so."""
    reference = next((c for c in found if c.framework != "hograd"), found[0])
    others = [c for c in found if c is not reference]
    note = (f"from {reference.label}, relative to each gradient's largest entry"
            if others else "nothing: no peer is installed to compare with")
    return (_compare.agreement(results, others, _compare.host(results[reference.label]),
                               TOLERANCE), note)


def differences(atoms: int = 8, neighbours: int = 4, count: int = 2,
                frameworks=("jax", "torch")) -> dict[str, float]:
    """The check alone on a small cluster, with hograd and those of ``frameworks`` installed
    (the test suite runs this)."""
    peers = _compare.load("cpu", frameworks)
    found = contenders(peers, workload(atoms, neighbours, count))
    return check(found, _compare.first_calls(found, peers))[0]


def main() -> None:
    options = _compare.OPTIONS
    if options.device == "gpu":
        print("bench_h7_forces --device gpu: skipped, issue 9 times H7 on the CPU only")
        return
    peers = _compare.load("cpu")
    _compare.warm_up_hograd(peers.hograd, peers.dtype)
    data = workload()
    found = contenders(peers, data)
    _compare.run(f"H7: force-training step, {ATOMS} atoms × {NEIGHBOURS} neighbours "
                 f"({len(data[1]):,} pairs), 8 RBFs, fitting net 8-24-24-1, "
                 f"{CONFIGURATIONS} configurations", found, peers, options.calls,
                 lambda results: check(found, results))


if __name__ == "__main__":
    main()
