"""MindSpore-style Cells with a custom ``bprop``, imported exactly as MindSpore code does.

Expected values are the analytic ones MindSpore documents for these programs: a bprop is the
derivative, even when it is deliberately not the true one, and integer programs differentiate
in their integer dtype.
"""
import numpy as np
import pytest

import hograd as ms
import hograd.common.dtype as mstype
import hograd.nn as nn
from hograd.common.tensor import Tensor
from hograd.core.errors import GradArgumentError
from hograd.ops import composite as C
from hograd.ops import operations as P

grad_all = C.GradOperation(get_all=True)
grad = C.GradOperation()


def f64(*values):
    return Tensor(np.array(values, dtype=np.float64))


class ScaledSum(nn.Cell):
    """2x + y, with a bprop that is deliberately not its derivative: (2·dout, 2y)."""

    def construct(self, x, y):
        return 2 * x + y

    def bprop(self, x, y, out, dout):
        return 2 * dout, 2 * y


def test_int32_inputs_through_a_bprop_get_int32_gradients(mode):
    grads = grad_all(ScaledSum())(Tensor(1, dtype=ms.int32), Tensor(2, dtype=ms.int32))
    assert grads == (2, 4)
    assert all(g.dtype == mstype.int32 for g in grads)


def test_a_bprop_cell_inlined_in_a_larger_int32_program(mode):
    class Outer(nn.Cell):
        def __init__(self):
            super().__init__()
            self.inner = ScaledSum()
            self.factor = 2

        def construct(self, x, y):
            return self.inner(x, y) + x + self.factor * y

    # (2 + 1, 2y + 2) at y = 2
    assert grad_all(Outer())(Tensor(1, dtype=ms.int32), Tensor(2, dtype=ms.int32)) == (3, 6)


def test_int32_program_without_bprop_differentiates_in_int32(mode):
    class Plain(nn.Cell):
        def construct(self, x, y):
            return 2 * x + y

    grads = grad_all(Plain())(Tensor(1, dtype=ms.int32), Tensor(2, dtype=ms.int32))
    assert grads == (2, 1) and grads[0].dtype == mstype.int32


def test_a_bprop_returning_extra_values_uses_the_first_ones(mode):
    class ExtraReturns(nn.Cell):
        def construct(self, x, y):
            return x * y

        def bprop(self, x, y, out, dout):
            return x + y, x * y, out, dout

    grads = grad_all(ExtraReturns())(Tensor(1, mstype.float32), Tensor(2, mstype.float32))
    assert len(grads) == 2
    assert grads == (3.0, 2.0)


# ---- several outputs -------------------------------------------------------------------------
class SquareAndCube(nn.Cell):
    """(x², x³) with their true derivatives, written once for the whole dout tuple."""

    def construct(self, x):
        return x * x, x * x * x

    def bprop(self, x, out, dout):
        return (dout[0] * 2.0 * x + dout[1] * 3.0 * x * x,)


def test_a_multi_output_bprop_gets_dout_as_a_tuple_at_every_order(mode):
    def both(x):
        square, cube = SquareAndCube()(x)
        return square + cube

    x = f64(1.5)
    np.testing.assert_allclose(grad(both)(x).asnumpy(), [2 * 1.5 + 3 * 1.5 ** 2])
    np.testing.assert_allclose(grad(grad(both))(x).asnumpy(), [2 + 6 * 1.5])
    np.testing.assert_allclose(grad(grad(grad(both)))(x).asnumpy(), [6.0])


def test_an_unused_output_reaches_the_bprop_as_zeros(mode):
    seen = {}

    class Recording(SquareAndCube):
        def bprop(self, x, out, dout):
            seen["dout"] = dout
            return super().bprop(x, out, dout)

    x = f64(1.5)
    np.testing.assert_allclose(grad(lambda t: Recording()(t)[1])(x).asnumpy(), [3 * 1.5 ** 2])
    assert isinstance(seen["dout"], tuple) and len(seen["dout"]) == 2
    np.testing.assert_allclose(grad(grad(lambda t: SquareAndCube()(t)[1]))(x).asnumpy(), [9.0])


def test_a_multi_output_bprop_that_is_not_linear_in_dout_is_called_once(mode):
    class Affine(nn.Cell):
        def construct(self, x):
            return x * 2.0, (x * 3.0, x + 1.0)

        def bprop(self, x, out, dout):
            # the constant 10 is counted once: the bprop is called once with all of dout
            return (dout[0] + dout[1][0] + dout[1][1] + 10.0,)

    def total(x):
        a, (b, c) = Affine()(x)
        return a + b + c

    np.testing.assert_allclose(grad(total)(f64(0.5, 1.0)).asnumpy(), [13.0, 13.0])


def test_an_output_used_only_by_the_bprop_is_kept(mode):
    class OnlyBpropReadsSecond(nn.Cell):
        def construct(self, x):
            return x + 1, x + 2

        def bprop(self, x, out, dout):
            return (out[1],)

    class Forward(nn.Cell):
        def __init__(self):
            super().__init__()
            self.cell = OnlyBpropReadsSecond()

        def construct(self, x):
            first, _ = self.cell(x)
            return first

    class GradNet(nn.Cell):
        def __init__(self):
            super().__init__()
            self.forward = Forward()

        def construct(self, x):
            return grad_all(self.forward)(x)

    out = GradNet()(Tensor([1]))
    assert out[0] == Tensor([3]) and out[0].dtype == mstype.int64


def test_a_multi_output_cell_returns_its_structure_in_the_forward_pass(mode):
    values = nn_call_in_graph(SquareAndCube(), f64(2.0))
    np.testing.assert_allclose(values[0].asnumpy(), [4.0])
    np.testing.assert_allclose(values[1].asnumpy(), [8.0])


def nn_call_in_graph(cell, x):
    class Wrap(nn.Cell):
        def __init__(self):
            super().__init__()
            self.cell = cell

        def construct(self, t):
            return self.cell(t)

    return Wrap()(x)


# ---- gradient functions inside bprops ----------------------------------------------------------
def _relu_nets(inner_bprop=None, outer_bprop=None):
    class Relu(nn.Cell):
        def __init__(self):
            super().__init__()
            self.relu = P.ReLU()

        def construct(self, x, y):
            return self.relu(x)

    if inner_bprop is not None:
        Relu.bprop = inner_bprop

    class WithGrads(nn.Cell):
        """Returns relu(x) and its own gradients; its bprop calls a gradient function."""

        def __init__(self):
            super().__init__()
            self.f = Relu()

        def construct(self, x, y):
            return self.f(x, y), grad_all(self.f)(x, y)

        def bprop(self, x, y, out, dout):
            grads = grad_all(self.f)(x, y)
            return out[1][0], grads[1]

    class Top(nn.Cell):
        def __init__(self):
            super().__init__()
            self.f = WithGrads()

        def construct(self, x, y):
            return self.f(x, y)

    if outer_bprop is not None:
        Top.bprop = outer_bprop
    return Top()


ONES = np.ones([2, 2], np.float32)


def test_a_bprop_calling_a_gradient_function(mode):
    grads = grad_all(_relu_nets())(Tensor(ONES), Tensor(ONES))
    np.testing.assert_array_equal(grads[0].asnumpy(), ONES)         # relu'(1)
    np.testing.assert_array_equal(grads[1].asnumpy(), 0 * ONES)     # relu ignores y


def test_a_bprop_calling_the_gradient_of_a_cell_with_its_own_bprop(mode):
    net = _relu_nets(inner_bprop=lambda self, x, y, out, dout: (x * y, y + x))
    grads = grad_all(net)(Tensor(ONES), Tensor(ONES))
    np.testing.assert_array_equal(grads[0].asnumpy(), ONES)         # inner bprop's x·y
    np.testing.assert_array_equal(grads[1].asnumpy(), 2 * ONES)     # inner bprop's y + x


def test_a_bprop_reading_nested_out_and_dout(mode):
    net = _relu_nets(outer_bprop=lambda self, x, y, out, dout:
                     (x + y + y + out[0], x + x + y + y + dout[0]))
    grads = grad_all(net)(Tensor(ONES), Tensor(ONES))
    np.testing.assert_array_equal(grads[0].asnumpy(), 4 * ONES)
    np.testing.assert_array_equal(grads[1].asnumpy(), 5 * ONES)


def test_a_bprop_calling_a_gradient_function_differentiates_to_third_order(mode):
    class Cube(nn.Cell):
        def construct(self, x):
            return x * x * x

    class CubeByItsGradient(nn.Cell):
        def __init__(self):
            super().__init__()
            self.inner = Cube()

        def construct(self, x):
            return self.inner(x)

        def bprop(self, x, out, dout):
            return (grad(self.inner)(x) * dout,)

    x = f64(1.5)
    np.testing.assert_allclose(grad(CubeByItsGradient())(x).asnumpy(), [3 * 1.5 ** 2])
    np.testing.assert_allclose(grad(grad(CubeByItsGradient()))(x).asnumpy(), [6 * 1.5])
    np.testing.assert_allclose(grad(grad(grad(CubeByItsGradient())))(x).asnumpy(), [6.0])


# ---- errors ------------------------------------------------------------------------------------
def test_a_wrong_shaped_bprop_gradient_names_the_bprop_the_input_and_both_shapes(mode):
    class WrongShape(nn.Cell):
        def construct(self, x, y):
            return 2 * x + y

        def bprop(self, x, y, out, dout):
            return 2.0, Tensor(np.ones([2]))

    with pytest.raises(GradArgumentError, match=r"WrongShape\.bprop returned a gradient of shape "
                       r"\(2,\) for input 'y' \(argument 1\) of shape \(2, 2\)"):
        grad_all(WrongShape())(Tensor(1.0), Tensor(np.ones([2, 2])))


def test_a_bprop_returning_too_few_gradients_says_how_many_it_needs(mode):
    class TooFew(nn.Cell):
        def construct(self, x, y):
            return 2 * x + y

        def bprop(self, x, y, out, dout):
            return (2 * dout,)

    with pytest.raises(GradArgumentError, match=r"one gradient per input of construct \(2\)"):
        grad_all(TooFew())(f64(1.0), f64(2.0))
