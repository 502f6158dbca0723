"""The three applications run at reduced size, learn, and their derivatives are right."""
import importlib.util
import math
import pathlib
import sys

import numpy as np

from hograd import Tensor, nn, ops

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- the physics-informed network -------------------------------------------------------------
def test_the_laplacian_by_nested_derivatives_is_exact_on_a_known_function(mode):
    example = load("pinn_poisson")

    class Product(nn.Cell):
        def construct(self, points):
            return ops.sin(points[:, 0:1] * math.pi) * ops.sin(points[:, 1:2] * math.pi)

    points = np.array([[0.2, 0.7], [0.5, 0.5], [0.9, 0.1]])
    laplacian = example.Laplacian(Product())(Tensor(points)).asnumpy()
    np.testing.assert_allclose(laplacian, -2 * math.pi ** 2 * example.exact(points), rtol=1e-12)


def test_the_physics_informed_network_learns_the_poisson_solution():
    losses, _, error = load("pinn_poisson").train(steps=200, n_side=8, width=16, report_every=0)
    assert losses[-1] < 0.02 * losses[0]
    assert error < 0.5          # the full run reaches about 0.015


# ---- the energy-and-forces model --------------------------------------------------------------
def test_the_morse_reference_forces_are_minus_the_energy_gradient():
    example = load("forces_training")
    positions = example.configurations(2, seed=3)
    _, forces = example.morse(positions)
    eps = 1e-6
    for index in [(0, 1, 2), (1, 4, 0)]:
        moved = [positions.copy(), positions.copy()]
        moved[0][index] += eps
        moved[1][index] -= eps
        slope = (example.morse(moved[0])[0] - example.morse(moved[1])[0])[index[0]] / (2 * eps)
        assert abs(forces[index] + slope) < 1e-6


def test_model_forces_are_minus_the_energy_gradient(mode):
    example = load("forces_training")
    energy = example.Energy(width=6)
    positions = example.configurations(1, seed=4)
    forces = example.Forces(energy)(Tensor(positions.astype(np.float32))).asnumpy()
    eps = 1e-2
    for index in [(0, 0, 0), (0, 3, 2)]:
        shifted = []
        for sign in (1, -1):
            moved = positions.copy()
            moved[index] += sign * eps
            shifted.append(float(energy(Tensor(moved.astype(np.float32))).asnumpy()[0]))
        np.testing.assert_allclose(forces[index], -(shifted[0] - shifted[1]) / (2 * eps),
                                   rtol=2e-2, atol=2e-3)


def test_training_on_energies_and_forces_lowers_the_force_error():
    history, _, (reference, predicted) = load("forces_training").train(
        steps=150, count=16, width=12, report_every=0)
    assert history[-1][2] < 0.02 * history[0][2]
    assert np.sqrt(np.mean((reference - predicted) ** 2)) < 0.3 * np.sqrt(np.mean(reference ** 2))


# ---- Newton's method --------------------------------------------------------------------------
def test_newton_hessian_and_gradient_are_the_analytic_ones(mode):
    example = load("newton_logistic")
    x, y = example.data(n=50, n_features=3, seed=2)
    loss = example.LogisticLoss(3)
    loss.w.set_data(np.array([[0.3], [-0.2], [0.1]]))
    hessian, gradient = example.hessian_and_gradient(loss, x, y)
    features, labels = x.asnumpy(), y.asnumpy()
    p = 1 / (1 + np.exp(-features @ loss.w.asnumpy()))
    np.testing.assert_allclose(hessian, features.T @ (features * p * (1 - p)) / 50, rtol=1e-12)
    np.testing.assert_allclose(gradient, features.T @ (p - labels) / 50, rtol=1e-12)


def test_newton_converges_quadratically():
    norms = load("newton_logistic").newton(steps=6, verbose=False)
    # once close, each gradient norm is about the square of the one before, times a constant
    # (about 5 here): 3.7e-4 → 6.8e-7 → 2.4e-12
    assert all(norms[k + 1] < 10 * norms[k] ** 2 for k in (2, 3, 4))
    assert norms[5] < 1e-10


def test_examples_run_without_matplotlib_and_say_how_to_get_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.syspath_prepend(str(EXAMPLES))
    load("newton_logistic").plot([1.0, 0.1, 0.001])
    assert "pip install 'hograd[examples]'" in capsys.readouterr().out
