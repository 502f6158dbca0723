"""Taylor mode: ops.jet, ops.derivative, hograd.laplacian and the Taylor rules' check."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import hograd
from hograd import Parameter, ParameterTuple, Tensor, context, nn, ops
from hograd.capabilities.taylor_check import check_taylor
from hograd.core.opdef import OpDef
from hograd.core.registry import registry
from hograd.core.taylor import NoTaylorRuleError
from hograd.taylor_api import TaylorArgumentError, taylor_graph


def composite(x):
    return ops.tanh(2.0 * ops.tanh(x) + ops.sin(x))


def test_tenth_derivative_of_the_issue_function_is_right_and_small():
    x = Tensor(np.array(0.3))
    value, tenth = ops.derivative(composite, x, 10)
    assert float(value.asnumpy()) == pytest.approx(math.tanh(2 * math.tanh(0.3) + math.sin(0.3)))
    assert float(tenth.asnumpy()) == pytest.approx(199451779.70352, rel=1e-10)
    assert len(taylor_graph(composite, x, 10).nodes) <= 1000


def test_node_count_grows_at_most_quadratically():
    x = Tensor(np.array(0.3))
    counts = {k: len(taylor_graph(composite, x, k).nodes) for k in (3, 6, 12)}
    assert counts[12] <= 4.5 * counts[6] <= 4.5 * 4.5 * counts[3]


def test_derivative_matches_nested_grad_operation_at_low_orders():
    x = Tensor(np.array([0.3, -0.7]))
    nested = composite
    for order in range(1, 5):
        nested = ops.GradOperation()(nested)
        _, taylor = ops.derivative(composite, x, order)
        np.testing.assert_allclose(taylor.asnumpy(), nested(x).asnumpy(), rtol=1e-10)


def test_jet_reproduces_mindsporess_documented_example():
    # mindspore.ops.jet's example: exp(sin x), series [1, 0, 0]: out_series are derivatives
    primals = Tensor(np.array([[1, 2], [3, 4]]).astype(np.float32))
    series = Tensor(np.array([[[1, 1], [1, 1]], [[0, 0], [0, 0]], [[0, 0], [0, 0]]],
                             dtype=np.float32))
    out, out_series = ops.jet(lambda x: ops.exp(ops.sin(x)), primals, series)
    np.testing.assert_allclose(out.asnumpy(), [[2.319777, 2.4825778], [1.1515628, 0.4691642]],
                               rtol=1e-6)
    np.testing.assert_allclose(out_series.asnumpy()[:, 0, 0], [1.2533808, -1.2748207, -4.0515366],
                               rtol=1e-5)


def test_jet_takes_derivatives_of_the_input_path_not_taylor_coefficients():
    # x(t) = 0.5 + t + t²  (x' = 1, x'' = 2) through exp: (e^x)'' = e^x (x'² + x'') = 3·e^0.5
    x = Tensor(np.array(0.5))
    _, series = ops.jet(ops.exp, x, Tensor(np.array([1.0, 2.0])))
    np.testing.assert_allclose(series.asnumpy(), [math.exp(0.5), 3 * math.exp(0.5)])


def test_jet_of_two_inputs_follows_leibniz():
    x, y = Tensor(np.array(2.0)), Tensor(np.array(3.0))
    # x(t) = 2 + t, y(t) = 3 − 2t: (x·y)' = −2·2 + 3 = −1, (x·y)'' = 2·(1·−2) = −4
    out, (series,) = ops.jet(lambda a, b: (a * b,), (x, y),
                             (Tensor(np.array([1.0, 0.0, 0.0])), Tensor(np.array([-2.0, 0, 0]))))
    np.testing.assert_allclose(series.asnumpy(), [-1.0, -4.0, 0.0])


@pytest.mark.parametrize("mode", [context.GRAPH_MODE, context.PYNATIVE_MODE])
def test_both_modes_give_the_same_derivatives(mode):
    context.set_context(mode=mode)
    try:
        _, fifth = ops.derivative(ops.sin, Tensor(np.array([0.4])), 5)
    finally:
        context.set_context(mode=context.GRAPH_MODE)
    np.testing.assert_allclose(fifth.asnumpy(), [math.cos(0.4)])


def test_a_jet_differentiates_again_with_grad_operation():
    # d/dx of the third derivative of sin is the fourth: sin
    third = lambda x: ops.derivative(ops.sin, x, 3)[1]
    np.testing.assert_allclose(ops.GradOperation()(third)(Tensor(np.array([0.4]))).asnumpy(),
                               [math.sin(0.4)])


def test_an_op_without_a_taylor_rule_fails_naming_it():
    with pytest.raises(NoTaylorRuleError, match="Einsum has no Taylor rule"):
        ops.derivative(lambda x: ops.Einsum("i,i->")((x, x)), Tensor(np.array([0.3, 0.5])), 2)


def test_a_composite_op_takes_the_rules_of_its_parts():
    # ReduceProd is a tree of products: along (1, 1), (0.3 + t)(0.5 + t)'' = 2
    _, second = ops.derivative(lambda x: ops.ReduceProd()(x), Tensor(np.array([0.3, 0.5])), 2)
    np.testing.assert_allclose(second.asnumpy(), 2.0)


def test_constant_parts_need_no_rule():
    # a ReduceProd of a tensor no input series reaches is a constant: no rule is asked for
    weights = Tensor(np.array([2.0, 3.0]))
    _, second = ops.derivative(lambda x: x * x * ops.ReduceProd()(weights),
                               Tensor(np.array(1.0)), 2)
    assert float(second.asnumpy()) == pytest.approx(12.0)


def test_arguments_are_checked():
    with pytest.raises(TaylorArgumentError, match="order must be an int"):
        ops.derivative(ops.sin, Tensor(np.array(1.0)), 0)
    with pytest.raises(TaylorArgumentError, match=r"must be \(order, \*primal.shape\)"):
        ops.jet(ops.sin, Tensor(np.array([1.0, 2.0])), Tensor(np.array([1.0, 0.0])))
    with pytest.raises(TaylorArgumentError, match="Tensor or a tuple of Tensors"):
        ops.jet(ops.sin, 1.0, Tensor(np.array([1.0])))


# ---- the Laplacian ----------------------------------------------------------------------------
class MLP(nn.Cell):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.w1 = Parameter(Tensor(rng.standard_normal((3, 8))), name="w1")
        self.b1 = Parameter(Tensor(rng.standard_normal(8) * 0.1), name="b1")
        self.w2 = Parameter(Tensor(rng.standard_normal((8, 1)) * 0.5), name="w2")

    def construct(self, x):
        return ops.matmul(ops.sin(ops.tanh(ops.matmul(x, self.w1) + self.b1)), self.w2)


def torch_mlp(net):
    w1, b1, w2 = (torch.tensor(p.asnumpy(), requires_grad=True)
                  for p in (net.w1, net.b1, net.w2))

    def fn(point):
        return (torch.sin(torch.tanh(point @ w1 + b1)) @ w2).squeeze()
    return fn, (w1, b1, w2)


def torch_laplacians(fn, points, create_graph=False):
    return torch.stack([torch.autograd.functional.hessian(fn, p, create_graph=create_graph)
                        .trace() for p in points])


def test_laplacian_of_an_mlp_matches_torch():
    net = MLP()
    x = Tensor(np.random.default_rng(1).uniform(-1, 1, (5, 3)))
    fn, _ = torch_mlp(net)
    expected = torch_laplacians(fn, torch.tensor(x.asnumpy())).detach().numpy()
    np.testing.assert_allclose(hograd.laplacian(net)(x).asnumpy().ravel(), expected, rtol=1e-10)


def test_laplacian_in_a_cell_trains_like_torch():
    net = MLP()

    class Loss(nn.Cell):
        def __init__(self):
            super().__init__()
            self.net = net

        def construct(self, x):
            return ops.reduce_mean(ops.square(hograd.laplacian(self.net)(x)))

    x = Tensor(np.random.default_rng(2).uniform(-1, 1, (4, 3)))
    grads = ops.GradOperation(get_by_list=True)(Loss(), ParameterTuple(net.trainable_params()))(x)
    fn, weights = torch_mlp(net)
    loss = torch_laplacians(fn, torch.tensor(x.asnumpy()), create_graph=True).pow(2).mean()
    loss.backward()
    for ours, theirs in zip(grads, weights):
        np.testing.assert_allclose(ours.asnumpy(), theirs.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_laplacian_of_a_radial_function_is_analytic():
    # Δ exp(−|x|²) = (4|x|² − 2d)·exp(−|x|²)
    x = np.random.default_rng(3).uniform(-1, 1, (6, 3))
    fn = lambda p: ops.exp(-ops.reduce_sum(p * p, axis=1, keep_dims=True))
    squared = (x * x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(hograd.laplacian(fn)(Tensor(x)).asnumpy(),
                               (4 * squared - 6) * np.exp(-squared), rtol=1e-12)


def test_a_reduction_over_the_points_sums_every_copy_of_a_row_coefficient():
    # the seeds are one row per direction; F = Σ_k (Σ_p (x_p W)_k)² moves all 8 points at once
    # along e_d, so ∂²F/∂t² = 2·Σ_k (8·W_dk)² and the sum over d is 2·8²·|W|²
    w = np.random.default_rng(4).standard_normal((3, 5))
    fn = lambda x: ops.reduce_sum(ops.square(ops.reduce_sum(ops.matmul(x, Tensor(w)), axis=0)))
    value = hograd.laplacian(fn)(Tensor(np.random.default_rng(5).uniform(-1, 1, (8, 3))))
    assert float(value.asnumpy()) == pytest.approx(2 * 8 ** 2 * (w * w).sum(), rel=1e-12)


def test_laplacian_of_a_function_affine_in_the_point_has_the_output_shape():
    # Δ(xW)² = 2·Σ_d W_dj² never meets a point (it stays one row); it comes back per point
    w = np.random.default_rng(6).standard_normal((3, 2))
    value = hograd.laplacian(lambda x: ops.square(ops.matmul(x, Tensor(w))))(
        Tensor(np.ones((7, 3))))
    np.testing.assert_allclose(value.asnumpy(), np.broadcast_to(2 * (w * w).sum(axis=0), (7, 2)),
                               rtol=1e-12)


def test_row_seeds_pass_transposed_and_batched_products_exactly():
    # the seed, one row (1, 1, 3) per direction, meets a transposed weight with a batch axis of
    # 1 and stays a row; its image then meets a product batched along the points' first axis
    rng = np.random.default_rng(7)
    w, v = rng.standard_normal((5, 3)), rng.standard_normal((2, 5, 4))
    points = rng.uniform(-1, 1, (2, 6, 3))

    def fn(x):
        h = ops.tanh(ops.BatchMatMul(transpose_b=True)(x, Tensor(w[None])))
        return ops.reduce_sum(ops.sin(ops.BatchMatMul()(h, Tensor(v))), axis=-1, keep_dims=True)

    def point_fn(batch):
        return lambda p: torch.sin(torch.tanh(p @ torch.tensor(w).T) @ torch.tensor(v[batch])).sum()

    expected = [[torch.autograd.functional.hessian(point_fn(b), torch.tensor(p)).trace().item()
                 for p in points[b]] for b in range(2)]
    np.testing.assert_allclose(hograd.laplacian(fn)(Tensor(points)).asnumpy()[..., 0], expected,
                               rtol=1e-10)


# ---- the check behind the matrix's Taylor column ------------------------------------------------
def test_every_op_with_a_taylor_rule_verifies_to_order_six():
    reg = registry()
    for name in ("Tanh", "Sin", "Pow", "MatMul", "RealDiv", "Softmax", "Select", "Concat"):
        result = check_taylor(reg.op(name), reg.specs.get(name))
        assert (result.status, result.verified_order) == ("verified", 6), (name, result)


def test_the_taylor_check_catches_a_wrong_rule():
    reg = registry()
    tanh = reg.op("Tanh")
    # a planted bug: tanh's slope frozen at the point, right at order 1 and wrong above
    from hograd.core.series import Series, ode
    frozen = lambda x, y: Series.of_constant(1.0 - y.primal * y.primal)
    broken = tanh.model_copy(update={"taylor": lambda out, x: ode(x, out, frozen)})
    reg.ops["Tanh"] = broken
    try:
        result = check_taylor(broken, reg.specs["Tanh"])
    finally:
        reg.ops["Tanh"] = tanh
    assert result.status == "wrong" and result.verified_order == 1


def test_an_op_without_a_rule_is_reported_as_such():
    reg = registry()
    result = check_taylor(reg.op("Einsum"), reg.specs["Einsum"])
    assert result.status == "no rule"
    assert isinstance(reg.op("Einsum"), OpDef) and reg.op("Einsum").taylor is None
