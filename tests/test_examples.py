"""The application examples run, learn, and their mixed second derivatives are right."""
import importlib.util
import pathlib

import numpy as np

from hograd import ParameterTuple, Tensor, ops

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_training_on_forces_lowers_the_force_loss():
    losses = load("forces_training").train(steps=100)
    assert losses[-1] < 0.5 * losses[0]


def test_the_force_loss_gradient_w_r_t_weights_matches_finite_differences(mode):
    example = load("forces_training")
    energy = example.Energy(width=4)
    loss = example.ForceLoss(example.Forces(energy))
    rng = np.random.default_rng(3)
    positions, reference = Tensor(rng.standard_normal((5, 3))), Tensor(rng.standard_normal((5, 3)))
    grads = ops.GradOperation(get_by_list=True)(loss, ParameterTuple([energy.w1]))(
        positions, reference)
    w1 = energy.w1.asnumpy()
    eps = 1e-6
    for index in [(0, 0), (2, 3), (1, 2)]:
        shifted = []
        for sign in (1.0, -1.0):
            moved = w1.copy()
            moved[index] += sign * eps
            energy.w1.set_data(moved)
            shifted.append(float(loss(positions, reference).asnumpy()))
        energy.w1.set_data(w1)
        np.testing.assert_allclose(grads[0].asnumpy()[index], (shifted[0] - shifted[1]) / (2 * eps),
                                   rtol=1e-6, atol=1e-9)


def test_the_physics_informed_network_approaches_the_exact_solution():
    losses, error = load("pinn_poisson").train(steps=400)
    assert losses[-1] < 0.05 * losses[0]
    assert error < 0.3


def test_newton_hessian_is_the_analytic_one_and_converges_quadratically(mode):
    example = load("newton_logistic")
    x, y = example.data(n=50, seed=2)
    loss = example.LogisticLoss(3)
    loss.w.set_data(np.array([[0.3], [-0.2], [0.1]]))
    hessian, gradient = example.hessian_and_gradient(loss, x, y)
    features, labels = x.asnumpy(), y.asnumpy()
    p = 1 / (1 + np.exp(-features @ loss.w.asnumpy()))
    np.testing.assert_allclose(hessian, features.T @ (features * p * (1 - p)) / 50, rtol=1e-12)
    np.testing.assert_allclose(gradient, features.T @ (p - labels) / 50, rtol=1e-12)
    norms = example.newton(steps=7)
    assert norms[-1] < 1e-12 < norms[3]
