"""Every op of the foundation, differentiated to order 4 in float64, in both modes.

Order k is compared with a central difference of AD's own (k−1)-th derivative (hograd.checks);
linear ops are wrapped in a nonlinearity so that their backward rules are exercised at every
order, not only the first.
"""
import numpy as np
import pytest

from hograd import Tensor, ops
from hograd import dtype as mstype
from hograd.checks import check_derivatives

MAX_ORDER = 4
rng = np.random.default_rng(7)


def uniform(shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape)


def away_from_zero(shape, low=0.3, high=2.0):
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def through(op):
    """sin(op(x)): the second and later derivatives pass through op's backward rule again."""
    return lambda *xs: ops.sin(op(*xs))


CASES = {
    "Square": (ops.Square(), [uniform((2, 3))]),
    "Exp": (ops.Exp(), [uniform((2, 3))]),
    "Neg": (through(ops.Neg()), [uniform((2, 3))]),
    "Log": (ops.Log(), [uniform((2, 3), 0.3, 2.0)]),
    "Sqrt": (ops.Sqrt(), [uniform((2, 3), 0.3, 2.0)]),
    "Reciprocal": (ops.Reciprocal(), [uniform((2, 3), 0.4, 2.0)]),
    "Sin": (ops.Sin(), [uniform((2, 3))]),
    "Cos": (ops.Cos(), [uniform((2, 3))]),
    "Tan": (ops.Tan(), [uniform((2, 3), -1.0, 1.0)]),
    "Sinh": (ops.Sinh(), [uniform((2, 3))]),
    "Cosh": (ops.Cosh(), [uniform((2, 3))]),
    "Atanh": (ops.Atanh(), [uniform((2, 3), -0.7, 0.7)]),
    "Tanh": (ops.Tanh(), [uniform((2, 3))]),
    "Sigmoid": (ops.Sigmoid(), [uniform((2, 3))]),
    "ReLU": (lambda x: ops.ReLU()(x) * x * x, [away_from_zero((2, 3))]),
    "Add": (through(ops.Add()), [uniform((2, 3)), uniform((3,))]),
    "Sub": (through(ops.Sub()), [uniform((2, 1)), uniform((3,))]),
    "Mul": (ops.Mul(), [uniform((2, 3)), uniform((1, 3))]),
    "RealDiv": (ops.RealDiv(), [uniform((2, 3)), uniform((3,), 0.5, 2.0)]),
    "Div": (ops.Div(), [uniform((2, 1)), uniform((2, 3), 0.5, 2.0)]),
    "Pow": (ops.Pow(), [uniform((2, 3), 0.5, 2.0), uniform((3,), 0.5, 2.5)]),
    "Pow-scalar-exponent": (lambda x: x ** 3.0, [uniform((2, 3))]),
    "MatMul": (ops.MatMul(), [uniform((2, 3)), uniform((3, 4))]),
    "MatMul-ta": (ops.MatMul(transpose_a=True), [uniform((3, 2)), uniform((3, 4))]),
    "MatMul-tb": (ops.MatMul(transpose_b=True), [uniform((2, 3)), uniform((4, 3))]),
    "MatMul-ta-tb": (ops.MatMul(transpose_a=True, transpose_b=True),
                     [uniform((3, 2)), uniform((4, 3))]),
    "MatMul-squared": (lambda a, b: ops.MatMul()(a, b) * ops.MatMul()(a, b),
                       [uniform((2, 3)), uniform((3, 2))]),
    "ReduceSum-all": (through(lambda x: ops.ReduceSum()(x * x)), [uniform((2, 3))]),
    "ReduceSum-axis": (through(lambda x: ops.ReduceSum(keep_dims=False)(x * x, 1)),
                       [uniform((2, 3))]),
    "ReduceSum-keep": (through(lambda x: ops.ReduceSum(keep_dims=True)(x * x, (0,))),
                       [uniform((2, 3))]),
    "ReduceMean-axis": (through(lambda x: ops.ReduceMean(keep_dims=False)(x * x, -1)),
                        [uniform((2, 3))]),
    "ReduceMean-keep": (through(lambda x: ops.ReduceMean(keep_dims=True)(x * x)),
                        [uniform((2, 3))]),
    "Reshape": (through(lambda x: ops.Reshape()(x * x, (3, -1))), [uniform((2, 3))]),
    "Transpose": (through(lambda x: ops.Transpose()(x, (1, 0)) * x[0]), [uniform((3, 3))]),
    "ExpandDims": (through(lambda x: ops.ExpandDims()(x, 1) * x), [uniform((2, 3))]),
    "BroadcastTo": (through(lambda x: ops.BroadcastTo((4, 2, 3))(x) * x), [uniform((2, 1))]),
    "GetItem-int": (through(lambda x: x[0][1] * x), [uniform((2, 3))]),
    "GetItem-slice": (through(lambda x: x[:, 1] * x[1:, ::2].sum()), [uniform((3, 3))]),
    "Select": (lambda x, y: ops.Select()(x > 0.0, x * x * y, ops.sin(y) * x),
               [away_from_zero((2, 3)), uniform((2, 3))]),
    "Comparisons": (lambda x, y: sum(ops.Cast()(cmp(x, y), mstype.float64) * x * y
                                     for cmp in (ops.Equal(), ops.NotEqual(), ops.Less(),
                                                 ops.LessEqual(), ops.Greater(),
                                                 ops.GreaterEqual())),
                    [away_from_zero((2, 3)), np.zeros((2, 3))]),
    "Softmax": (ops.Softmax(), [uniform((2, 3))]),
    "Softmax-axis0": (ops.Softmax(axis=0), [uniform((3, 2))]),
    "ZerosLike-OnesLike": (lambda x: ops.sin(x) * ops.OnesLike()(x) + ops.ZerosLike()(x),
                           [uniform((2, 3))]),
    "Fill": (lambda x: x * x * ops.Fill()(mstype.float64, (2, 3), 2.5), [uniform((2, 3))]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_matches_finite_differences_to_order_4(name, mode):
    fn, inputs = CASES[name]
    for check in check_derivatives(fn, inputs, MAX_ORDER, seed=11):
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
