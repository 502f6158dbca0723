"""MindSpore programs with only ``mindspore`` renamed to ``hograd`` in their imports.

They import from MindSpore's module paths and check the analytic values MindSpore documents.
"""
import numpy as np

import hograd as ms
import hograd.common.dtype as mstype
import hograd.nn as nn
from hograd import Parameter, ParameterTuple, context
from hograd.common import initializer as init_module
from hograd.common.initializer import initializer
from hograd.common.tensor import Tensor
from hograd.ops import composite as C
from hograd.ops import functional as F
from hograd.ops import operations as P


def test_the_mindspore_module_paths_hold_the_same_objects():
    import hograd.common
    import hograd.common.dtype
    import hograd.ops
    assert P.Mul is hograd.ops.Mul and P.ReduceSum is hograd.ops.ReduceSum
    assert F.sin is hograd.ops.sin and F.reduce_sum is hograd.ops.reduce_sum
    assert C.GradOperation is hograd.ops.GradOperation
    assert hograd.common.Tensor is ms.Tensor and hograd.common.Parameter is ms.Parameter
    assert hograd.common.ParameterTuple is ms.ParameterTuple
    assert hograd.common.dtype.float32 is mstype.float32 is ms.float32
    assert hograd.common.initializer is init_module
    from hograd.common.parameter import Parameter as P2
    assert P2 is Parameter


class Cubic(nn.Cell):
    """x³ · w with a Parameter w = 2."""

    def __init__(self):
        super().__init__()
        self.mul = P.Mul()
        self.w = Parameter(Tensor(np.array([2.0, 2.0], np.float32)), name="w")

    def construct(self, x):
        return self.mul(self.mul(self.mul(x, x), x), self.w)


class GradByList(nn.Cell):
    def __init__(self, network):
        super().__init__()
        self.grad = C.GradOperation(get_by_list=True)
        self.network = network
        self.params = ParameterTuple(network.trainable_params())

    def construct(self, x):
        return self.grad(self.network, self.params)(x)


class GradAll(nn.Cell):
    def __init__(self, network):
        super().__init__()
        self.grad = C.GradOperation(get_all=True)
        self.network = network

    def construct(self, x):
        return self.grad(self.network)(x)


def test_weight_gradient_then_input_gradient(mode):
    # d/dw (x³w) = x³; then d/dx of that is 3x² = 12 at x = 2
    x = Tensor(np.array([2.0, 1.0], np.float32))
    (first,) = GradByList(Cubic())(x)
    np.testing.assert_allclose(first.asnumpy(), [8.0, 1.0])
    second = GradAll(GradByList(Cubic()))(x)
    np.testing.assert_allclose(second[0].asnumpy(), [12.0, 3.0])


def test_third_order_through_nested_cells(mode):
    # d³/dx³ (x³w) = 6w = 12
    x = Tensor(np.array([0.5, 3.0], np.float32))
    third = GradAll(GradAll(GradAll(Cubic())))(x)
    np.testing.assert_allclose(third[0].asnumpy(), [12.0, 12.0])


def test_sens_param_with_a_functional_program(mode):
    class Net(nn.Cell):
        def construct(self, x, y):
            return F.sin(x) * y, F.exp(x)

    grad = C.GradOperation(get_all=True, sens_param=True)
    x = Tensor(np.array([0.3], np.float32))
    y = Tensor(np.array([2.0], np.float32))
    sens = (Tensor(np.array([1.0], np.float32)), Tensor(np.array([0.5], np.float32)))
    dx, dy = grad(Net())(x, y, sens)
    np.testing.assert_allclose(dx.asnumpy(), [2 * np.cos(0.3) + 0.5 * np.exp(0.3)], rtol=1e-6)
    np.testing.assert_allclose(dy.asnumpy(), [np.sin(0.3)], rtol=1e-6)


def test_a_parameter_built_with_initializer_is_differentiated(mode):
    class Affine(nn.Cell):
        def __init__(self):
            super().__init__()
            self.w = Parameter(initializer(1, (2, 2), mstype.float32), name="w")
            self.b = Parameter(initializer("zeros", (2,), mstype.float32), name="b")
            self.add = P.TensorAdd()
            self.matmul = P.MatMul()

        def construct(self, x):
            return self.add(self.matmul(x, self.w), self.b)

    net = Affine()
    net.set_grad()
    x = Tensor(np.array([[1.0, 2.0]], np.float32))
    dw, db = C.GradOperation(get_by_list=True)(net, ParameterTuple(net.trainable_params()))(x)
    np.testing.assert_allclose(dw.asnumpy(), [[1.0, 1.0], [2.0, 2.0]])
    np.testing.assert_allclose(db.asnumpy(), [1.0, 1.0])


def test_control_flow_gradient_with_a_jit_construct(mode):
    class Branchy(nn.Cell):
        @ms.jit
        def construct(self, x, y):
            if x > y:
                return x * x * y
            return x + y

    grad_all = C.GradOperation(get_all=True)
    context.set_context(jit_level="O0")
    big = grad_all(Branchy())(Tensor(3.0, mstype.float32), Tensor(2.0, mstype.float32))
    assert big == (12.0, 9.0)
    small = grad_all(Branchy())(Tensor(1.0, mstype.float32), Tensor(2.0, mstype.float32))
    assert small == (1.0, 1.0)
