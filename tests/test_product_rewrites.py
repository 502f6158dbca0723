"""The rewrites that keep Jacobians and per-sample gradients as cheap as writing them by hand:
constants moved ahead of time, a product with an identity removed, an outer product computed
as a broadcast multiplication — each exact, and each still differentiable to any order."""
import numpy as np
import pytest
import torch
from torch import func as tf

import hograd
from hograd import Tensor, ops
from hograd.core.staging import stage

RNG = np.random.default_rng(11)


def graph_ops(fn, *arrays) -> list[str]:
    return [node.op for node in stage(fn, [Tensor(a) for a in arrays]).graph.nodes]


def run(fn, *arrays) -> np.ndarray:
    return fn(*[Tensor(a) for a in arrays]).asnumpy()


# ---- constants ----------------------------------------------------------------------------------
def test_a_transposed_and_reshaped_constant_is_one_constant():
    table = np.arange(6.0).reshape(2, 3)

    def shifted(x):
        moved = ops.reshape(ops.transpose(Tensor(table), (1, 0)), (6,))
        return x + moved

    assert graph_ops(shifted, np.zeros(6)) == ["Constant", "Add"]
    np.testing.assert_array_equal(run(shifted, np.ones(6)), [1, 4, 2, 5, 3, 6])


# ---- products with an identity ------------------------------------------------------------------
@pytest.mark.parametrize("transpose_a", [False, True])
def test_a_product_with_an_identity_on_the_right_is_the_left_factor(transpose_a):
    x = RNG.standard_normal((3, 4))
    eye = np.eye(3 if transpose_a else 4)

    def product(a):
        return ops.matmul(a, Tensor(eye), transpose_a=transpose_a, transpose_b=True)

    assert "MatMul" not in graph_ops(product, x)
    np.testing.assert_array_equal(run(product, x), x.T if transpose_a else x)


def test_a_product_with_an_identity_on_the_left_is_the_right_factor():
    x = RNG.standard_normal((2, 3, 4))

    def product(b):
        return ops.batch_matmul(Tensor(np.eye(4)), b, transpose_b=True)

    assert "BatchMatMul" not in graph_ops(product, x)
    np.testing.assert_array_equal(run(product, x), np.swapaxes(x, 1, 2))


def test_a_product_with_another_constant_stays_a_product():
    x = RNG.standard_normal((3, 4))
    twice = 2.0 * np.eye(4)
    assert "MatMul" in graph_ops(lambda a: ops.matmul(a, Tensor(twice)), x)


def test_the_simplifier_refuses_a_replacement_of_another_shape(scratch_registry):
    """A planted rule that rewrites Sin(x) to a reshaped x: not taken, whatever it says."""
    from hograd.core.ir import AbstractValue, Graph, Node, Var
    from hograd.core.passes import algebraic_simplification
    from hograd import dtype as mstype

    def flattened(m, node):
        return ("Reshape", (node.inputs[0],), (("shape", (6,)),))

    sin = scratch_registry.ops["Sin"]
    scratch_registry.ops["Sin"] = sin.model_copy(update={"rewrites": (flattened,)})
    x, out = Var(AbstractValue((2, 3), mstype.float64)), Var(AbstractValue((2, 3), mstype.float64))
    graph = algebraic_simplification(Graph((x,), (Node("Sin", (x,), (), out),), (out,)))
    assert [(n.op, n.out.aval.shape) for n in graph.nodes] == [("Sin", (2, 3))]


# ---- outer products -----------------------------------------------------------------------------
@pytest.mark.parametrize("transpose_a, transpose_b", [(False, False), (True, False),
                                                      (False, True), (True, True)])
def test_a_product_over_an_inner_dimension_of_one_is_a_broadcast_multiplication(
        transpose_a, transpose_b):
    a = RNG.standard_normal((1, 5) if transpose_a else (5, 1))
    b = RNG.standard_normal((4, 1) if transpose_b else (1, 4))

    def product(x, y):
        return ops.matmul(x, y, transpose_a=transpose_a, transpose_b=transpose_b)

    assert "MatMul" not in graph_ops(product, a, b)
    want = np.matmul(a.T if transpose_a else a, b.T if transpose_b else b)
    np.testing.assert_array_equal(run(product, a, b), want)   # one term: bit for bit


def test_a_batch_of_outer_products_broadcasts_its_batch_axes():
    a, b = RNG.standard_normal((6, 1, 1, 5)), RNG.standard_normal((3, 1, 4))

    def product(x, y):
        return ops.batch_matmul(x, y, transpose_a=True)

    assert graph_ops(product, a, b) == ["Reshape", "Mul"]
    got = run(product, a, b)
    assert got.shape == (6, 3, 5, 4)
    np.testing.assert_array_equal(got, np.matmul(np.swapaxes(a, -1, -2), b))


def test_derivatives_through_an_outer_product_match_torch_to_third_order():
    a, b = RNG.standard_normal((1, 3)), RNG.standard_normal((1, 4))

    def h_fn(x):
        return ops.reduce_sum(ops.tanh(ops.matmul(x, Tensor(b), transpose_a=True)) ** 2)

    def t_fn(x):
        return (torch.tanh(x.T @ torch.tensor(b)) ** 2).sum()

    np.testing.assert_allclose(run(hograd.hessian(h_fn), a),
                               tf.hessian(t_fn)(torch.tensor(a)).numpy(), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(run(hograd.jacfwd(hograd.hessian(h_fn)), a),
                               tf.jacfwd(tf.hessian(t_fn))(torch.tensor(a)).numpy(),
                               rtol=1e-12, atol=1e-12)


# ---- what they are for --------------------------------------------------------------------------
def test_the_hessian_of_a_logistic_loss_multiplies_the_data_by_no_basis(mode):
    x = RNG.standard_normal((50, 6)) / np.sqrt(6)
    y = (RNG.uniform(size=(50, 1)) < 0.5).astype(np.float64)
    w = RNG.standard_normal((6, 1))

    def loss(weights, data, labels):
        logits = ops.matmul(data, weights)
        return ops.reduce_mean(ops.softplus(logits) - labels * logits)

    hessian = hograd.hessian(loss)
    # x·w and xᵀ·(d ⊙ x): the closed form's products, no product with the basis
    assert graph_ops(hessian, w, x, y).count("MatMul") == 2
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    closed_form = x.T @ (x * (p * (1.0 - p))) / len(x)
    np.testing.assert_allclose(run(hessian, w, x, y).reshape(6, 6), closed_form, rtol=1e-12,
                               atol=1e-14)


def test_per_sample_gradients_take_no_batched_matrix_product_of_outer_products(mode):
    w1, w2 = RNG.standard_normal((7, 5)), RNG.standard_normal((5, 3))
    images, labels = RNG.standard_normal((4, 7)), np.eye(3)[[0, 2, 1, 2]]

    def loss(first, second, image, label):
        hidden = ops.tanh(ops.matmul(ops.reshape(image, (1, 7)), first))
        logits = ops.matmul(hidden, second)
        return -ops.reduce_sum(ops.log_softmax(logits, axis=-1) * ops.reshape(label, (1, 3)))

    per_sample = hograd.vmap(hograd.grad(loss, grad_position=(0, 1)),
                             in_axes=(None, None, 0, 0))
    assert "BatchMatMul" not in graph_ops(per_sample, w1, w2, images, labels)
    g1, g2 = per_sample(*[Tensor(a) for a in (w1, w2, images, labels)])
    hidden = np.tanh(images @ w1)
    logits = hidden @ w2
    soft = np.exp(logits - logits.max(1, keepdims=True))
    d_logits = soft / soft.sum(1, keepdims=True) - labels
    d_hidden = (d_logits @ w2.T) * (1.0 - hidden ** 2)
    np.testing.assert_allclose(g1.asnumpy(), images[:, :, None] * d_hidden[:, None, :],
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g2.asnumpy(), hidden[:, :, None] * d_logits[:, None, :],
                               rtol=1e-12, atol=1e-14)
