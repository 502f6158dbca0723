"""The simplifier's folding of known values: constants meet fills and ``zeros_like``/``ones_like``
no longer read their input. Each rewrite is shown in the graph and proven on numbers, special
values included."""
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
    def shifted(x):
        return (x + Tensor(np.zeros(3))) * Tensor(np.ones(3))

    assert graph_ops(shifted, np.zeros(3)) == []
    np.testing.assert_array_equal(run(shifted, np.arange(3.0)), [0.0, 1.0, 2.0])


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
