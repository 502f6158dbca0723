"""Every op differentiated in float64 in both modes, from the checks in its own record.

Order k is compared with a central difference of AD's own (k−1)-th derivative (hograd/capabilities/differences.py),
w.r.t. the inputs and the cotangents, so linear ops' rules are exercised at every order.
"""
import numpy as np
import pytest

from hograd import Tensor, ops
from hograd import dtype as mstype
from hograd.capabilities.checker import check_cell
from hograd.capabilities.differences import check_derivatives
from hograd.core.registry import registry

MAX_ORDER = 3
rng = np.random.default_rng(7)


def uniform(shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape)


def away_from_zero(shape, low=0.3, high=2.0):
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def through(op):
    """sin(op(x)): the second and later derivatives pass through op's backward rule again."""
    return lambda *xs: ops.sin(op(*xs))


# Every op's own checks (its record's samples) in both modes: the capability matrix runs them
# in graph mode to order 4 (tests/test_capabilities.py); here PyNative too, to order 3.
CHECKED = sorted(name for name, spec in registry().specs.items()
                 if spec.derivative == "checked")


@pytest.mark.parametrize("name", CHECKED)
def test_every_op_matches_finite_differences_in_both_modes(name, mode):
    reg = registry()
    cell = check_cell(reg, reg.op(name), "cpu", MAX_ORDER, seed=11)
    assert cell.status == "verified" and cell.claim_ok, f"{name} in {mode} mode: {cell}"
    assert cell.verified_order == min(MAX_ORDER, reg.specs[name].max_order)


# Compositions no single op's samples cover: Python-number exponents, products of an op with
# itself, masks from comparisons, constants inside derivatives.
COMPOSITIONS = {
    "x ** 3.0": (lambda x: x ** 3.0, [uniform((2, 3))]),
    "MatMul(a, b)²": (lambda a, b: ops.MatMul()(a, b) * ops.MatMul()(a, b),
                      [uniform((2, 3)), uniform((3, 2))]),
    "GetItem of int and slice": (through(lambda x: x[:, 1] * x[1:, ::2].sum() + x[0][1] * x),
                                 [uniform((3, 3))]),
    "Select between expressions": (lambda x, y: ops.Select()(x > 0.0, x * x * y,
                                                            ops.sin(y) * x),
                                   [away_from_zero((2, 3)), uniform((2, 3))]),
    "comparisons as masks": (lambda x, y: sum(ops.Cast()(cmp(x, y), mstype.float64) * x * y
                                              for cmp in (ops.Equal(), ops.NotEqual(),
                                                          ops.Less(), ops.LessEqual(),
                                                          ops.Greater(), ops.GreaterEqual())),
                             [away_from_zero((2, 3)), np.zeros((2, 3))]),
    "ZerosLike and OnesLike in a sum": (lambda x: ops.sin(x) * ops.OnesLike()(x)
                                        + ops.ZerosLike()(x), [uniform((2, 3))]),
    "Fill in a product": (lambda x: x * x * ops.Fill()(mstype.float64, (2, 3), 2.5),
                          [uniform((2, 3))]),
}


@pytest.mark.parametrize("name", sorted(COMPOSITIONS))
def test_compositions_match_finite_differences_to_order_4(name, mode):
    fn, inputs = COMPOSITIONS[name]
    for check in check_derivatives(fn, inputs, 4, seed=11):
        assert check.ok, f"{name}: order {check.order} wrong in {mode} mode: {check}"


@pytest.mark.parametrize("order, expected", [(1, lambda x: np.cos(x)),
                                             (2, lambda x: -np.sin(x)),
                                             (3, lambda x: -np.cos(x)),
                                             (4, lambda x: np.sin(x))])
def test_cast_to_float32_derivatives_follow_the_analytic_values(order, expected, mode):
    x = np.array([0.3, -1.1, 2.0])
    fn = lambda t: ops.sin(ops.Cast()(t, mstype.float32))  # noqa: E731
    for _ in range(order):
        fn = ops.GradOperation()(fn)
    got = fn(Tensor(x, mstype.float64))
    assert got.dtype == mstype.float64
    np.testing.assert_allclose(got.asnumpy(), expected(x), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("order, expected", [(1, lambda x: x * x), (2, lambda x: 0 * x),
                                             (3, lambda x: 0 * x), (4, lambda x: 0 * x)])
def test_stop_gradient_blocks_every_order(order, expected, mode):
    x = np.array([0.5, -1.5])
    fn = lambda t: t * ops.stop_gradient(t * t)  # noqa: E731
    for _ in range(order):
        fn = ops.GradOperation()(fn)
    np.testing.assert_allclose(fn(Tensor(x)).asnumpy(), expected(x), rtol=1e-12)


def test_comparisons_compute_elementwise_booleans():
    x, y = Tensor([1.0, 2.0, 3.0]), Tensor([2.0, 2.0, 2.0])
    assert (x < y).asnumpy().tolist() == [True, False, False]
    assert (x <= y).asnumpy().tolist() == [True, True, False]
    assert (x > y).asnumpy().tolist() == [False, False, True]
    assert (x >= y).asnumpy().tolist() == [False, True, True]
    assert ops.Equal()(x, y).asnumpy().tolist() == [False, True, False]
    assert ops.NotEqual()(x, y).asnumpy().tolist() == [True, False, True]
