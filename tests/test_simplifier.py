"""The simplifier's folding of known values: constants meet fills, ``zeros_like``/``ones_like``
no longer read their input, and a matrix product with a filled matrix is a sum. Each rewrite
is shown in the graph and proven on numbers, special values included."""
import numpy as np
import pytest
import torch

import hograd
from hograd import Tensor, ops
from hograd import dtype as mstype
from hograd.core.staging import stage

RNG = np.random.default_rng(29)


def graph_ops(fn, *arrays) -> list[str]:
    return [node.op for node in stage(fn, [Tensor(a) for a in arrays]).graph.nodes]


def run(fn, *arrays) -> np.ndarray:
    return fn(*[Tensor(a) for a in arrays]).asnumpy()


# ---- constants and fills ------------------------------------------------------------------------
def test_a_traced_constant_folds_with_a_fill():
    def shifted(x):
        return x + ops.fill(mstype.float64, (3,), 2.0) * 3.0

    assert graph_ops(shifted, np.zeros(3)) == ["Fill", "Add"]
    np.testing.assert_array_equal(run(shifted, np.arange(3.0)), [6.0, 7.0, 8.0])


def test_a_constant_of_equal_elements_is_read_as_filled():
    def scaled(x):
        return (x * Tensor(np.ones(3))) * (Tensor(np.full(3, 0.5)) * 2.0)

    assert graph_ops(scaled, np.zeros(3)) == []                 # x·1·(0.5·2) is x
    np.testing.assert_array_equal(run(scaled, np.arange(3.0)), [0.0, 1.0, 2.0])


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply")
def test_a_users_product_with_a_constant_zero_keeps_ieee_nan(mode):
    """Only a Fill of 0 is a symbolic zero; ``x * 0.0`` in a user's function is NaN at x = inf
    in GRAPH_MODE as in PYNATIVE_MODE."""
    def product(x):
        return x * 0.0

    assert graph_ops(product, np.ones(3)) == ["Constant", "Mul"]
    np.testing.assert_array_equal(run(hograd.jit(product) if mode == "graph" else product,
                                      np.array([1.0, np.inf, np.nan])), [0.0, np.nan, np.nan])


@pytest.mark.filterwarnings("ignore:invalid value encountered in sin")   # sin(inf), traced
def test_zeros_like_and_ones_like_no_longer_read_their_input():
    def fn(x):
        return ops.zeros_like(ops.sin(x)) + ops.ones_like(ops.exp(x)) * x

    assert graph_ops(fn, np.ones(3)) == []          # 0 + 1·x is x itself
    np.testing.assert_array_equal(run(fn, np.array([1.0, -2.0, np.inf])), [1.0, -2.0, np.inf])


def test_weighted_reductions_differentiate_through_their_ones_to_third_order():
    # their forward rule multiplies by ones_like(out); now a fill, which the products drop
    def h_fn(x):
        return ops.reduce_sum(ops.logsumexp(x * x, axis=1) * x[:, 0])

    def t_fn(x):
        return (torch.logsumexp(x * x, dim=1) * x[:, 0]).sum()

    x = RNG.standard_normal((3, 4))
    want = torch.func.jacfwd(torch.func.hessian(t_fn))(torch.tensor(x)).numpy()
    got = run(hograd.jacfwd(hograd.hessian(h_fn)), x)
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)


# ---- matrix products with a filled matrix --------------------------------------------------------
def test_a_product_with_a_constant_of_equal_elements_is_a_sum():
    def product(x):
        return ops.matmul(x, Tensor(np.full((3, 2), 0.5))) + Tensor(np.zeros((2,)))

    assert "MatMul" not in graph_ops(product, np.ones((4, 3)))
    x = RNG.standard_normal((4, 3))
    np.testing.assert_allclose(run(product, x), x @ np.full((3, 2), 0.5), rtol=1e-15)


@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("transpose_b", [False, True])
@pytest.mark.parametrize("filled_side", ["a", "b"])
@pytest.mark.parametrize("value", [1.0, -2.5])
def test_a_product_with_a_filled_matrix_is_a_broadcast_sum(transpose_a, transpose_b,
                                                           filled_side, value):
    a = RNG.standard_normal((3, 4) if transpose_a else (4, 3))
    b = RNG.standard_normal((5, 3) if transpose_b else (3, 5))
    if filled_side == "a":
        a = np.full(a.shape, value)
    else:
        b = np.full(b.shape, value)
    filled = a if filled_side == "a" else b

    def product(x):
        constant = Tensor(filled)       # made while tracing: a Constant of the graph
        pair = (constant, x) if filled_side == "a" else (x, constant)
        return ops.matmul(*pair, transpose_a=transpose_a, transpose_b=transpose_b)

    other = b if filled_side == "a" else a
    assert "MatMul" not in graph_ops(product, other)
    assert "ReduceSum" in graph_ops(product, other)
    want = (a.T if transpose_a else a) @ (b.T if transpose_b else b)
    np.testing.assert_allclose(run(product, other), want, rtol=1e-14, atol=1e-14)


def test_a_product_with_zeros_is_a_symbolic_zero():
    def product(x):
        return ops.matmul(x, ops.zeros_like(x), transpose_b=True)

    assert graph_ops(product, np.ones((2, 3))) == ["Fill"]
    np.testing.assert_array_equal(run(product, RNG.standard_normal((2, 3))), np.zeros((2, 2)))


def test_a_batched_product_with_ones_broadcasts_its_batch_axes():
    ones = np.ones((6, 1, 2, 4))

    def product(x):
        return ops.batch_matmul(Tensor(ones), x, transpose_a=True)

    x = RNG.standard_normal((3, 2, 5))
    assert graph_ops(product, x) == ["ReduceSum", "BroadcastTo"]
    got = run(product, x)
    assert got.shape == (6, 3, 4, 5)
    np.testing.assert_allclose(got, np.swapaxes(ones, -1, -2) @ x, rtol=1e-15)


@pytest.mark.filterwarnings("ignore:invalid value encountered in matmul")
def test_a_sum_by_ones_keeps_infinities_and_nans_as_the_product_does():
    x = np.array([[1.0, np.inf, 2.0], [np.nan, 1.0, 0.0], [np.inf, -np.inf, 1.0]])

    def product(a):
        return ops.matmul(a, Tensor(np.ones((3, 2))))

    np.testing.assert_array_equal(run(product, x), x @ np.ones((3, 2)))   # inf, nan, nan


def test_the_weights_gradient_under_a_sens_of_ones_takes_no_matrix_product(mode):
    w = RNG.standard_normal((3, 2))
    x = RNG.standard_normal((5, 3))

    def loss(weights, data):
        return ops.matmul(data, weights)          # summed: the sens is ones

    gradient = hograd.grad(loss)                  # xᵀ·ones: the column sums of x
    assert "MatMul" not in graph_ops(gradient, w, x)
    np.testing.assert_allclose(run(gradient, w, x), np.repeat(x.sum(0)[:, None], 2, axis=1),
                               rtol=1e-14)
