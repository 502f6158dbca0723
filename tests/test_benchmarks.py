"""The issue-9 benchmark scripts check their results before timing: those checks pass at a tiny
size, against references outside hograd (the analytic derivative, a numpy Laplacian written by
hand, central differences of a numpy loss, torch's gradients), and fail on a wrong answer."""
import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import _compare  # noqa: E402
import _pinn  # noqa: E402
import bench_h3_derivative  # noqa: E402
import bench_h7_forces  # noqa: E402

HOGRAD_ONLY = ()


def test_the_fourth_derivative_of_sin_times_exp_is_the_analytic_one_both_ways():
    differences = bench_h3_derivative.differences(count=200, frameworks=HOGRAD_ONLY)
    assert set(differences) == {"hograd GradOperation⁴", "hograd ops.derivative(f, x, 4)"}
    assert max(differences.values()) < 1e-13


@pytest.mark.parametrize("layers", [(2, 8, 1), (1, 8, 8, 1)], ids=["2-8-1", "1-8-8-1 (u_xx)"])
def test_both_laplacians_equal_the_numpy_one(layers):
    differences = _pinn.differences(step=False, layers=layers, frameworks=HOGRAD_ONLY)
    assert set(differences) == {"hograd.laplacian", "hograd nested GradOperation"}
    assert max(differences.values()) < 1e-13


@pytest.mark.parametrize("layers", [(2, 8, 1), (1, 8, 8, 1)], ids=["2-8-1", "1-8-8-1 (u_xx)"])
def test_both_pinn_steps_equal_central_differences_of_the_numpy_loss(layers):
    differences = _pinn.differences(step=True, layers=layers, frameworks=HOGRAD_ONLY)
    # the Taylor step is the reference, checked against the differences; nesting against it
    assert differences["hograd.laplacian"] < 1e-7
    assert differences["hograd nested GradOperation"] < 1e-13


def test_the_force_training_step_equals_torchs():
    pytest.importorskip("torch")
    differences = bench_h7_forces.differences(atoms=8, neighbours=4, count=2,
                                              frameworks=("torch",))
    assert list(differences) == ["hograd GradOperation step"]
    assert differences["hograd GradOperation step"] < 1e-12


def test_the_numpy_laplacian_is_exact_on_a_network_with_a_known_laplacian():
    # u = w₂·tanh(w₁·x): Δu = w₂·tanh''(w₁·x)·|w₁|², tanh'' = −2·tanh·(1 − tanh²)
    weights = [(np.array([[0.3, -0.4]]), np.zeros(1)), (np.array([[2.0]]), np.zeros(1))]
    x = np.array([[0.5, 1.0], [-1.0, 2.0]])
    h = np.tanh(x @ weights[0][0].T)
    expected = 2.0 * -2.0 * h * (1 - h * h) * 0.25
    np.testing.assert_allclose(_pinn.numpy_laplacian(weights, x), expected, rtol=1e-14)


def test_a_wrong_result_fails_the_check_and_names_its_contender():
    right = _compare.Contender("right", "numpy", lambda: np.ones(3))
    wrong = _compare.Contender("wrong", "numpy", lambda: np.array([1.0, 1.0, 1.001]))
    results = {"right": np.ones(3), "wrong": np.array([1.0, 1.0, 1.001])}
    assert _compare.agreement(results, [right], [np.ones(3)], 1e-10) == {"right": 0.0}
    with pytest.raises(AssertionError, match="wrong differs from the reference by 1.00e-03"):
        _compare.agreement(results, [right, wrong], [np.ones(3)], 1e-10)


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None,
                    reason="cupy is installed: --device gpu would run the GPU benchmark")
def test_without_a_gpu_the_gpu_run_says_so_in_one_line_and_succeeds():
    environment = {**os.environ, "PYTHONPATH": str(BENCHMARKS.parent)}
    done = subprocess.run([sys.executable, str(BENCHMARKS / "bench_h4_laplacian.py"),
                           "--device", "gpu"], capture_output=True, text=True, timeout=120,
                          env=environment)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines() == [
        "bench_h4_laplacian --device gpu: skipped, no GPU here (cupy is not installed; on a "
        "machine with CUDA, install hograd[gpu])"]
