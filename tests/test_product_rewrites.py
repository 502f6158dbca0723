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
