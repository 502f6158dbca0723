"""GradOperation's contract: return structures, sens, weights, constants, and nesting."""
import numpy as np

from hograd import Parameter, ParameterTuple, Tensor, nn, ops
from hograd import dtype as mstype

Grad = ops.GradOperation


def f64(*values):
    return Tensor(np.array(values, dtype=np.float64))


class Scale(nn.Cell):
    """out = w * x * y + b."""

    def __init__(self):
        super().__init__()
        self.w = Parameter(f64(2.0, 3.0), name="w")
        self.b = Parameter(f64(0.5), name="b")

    def construct(self, x, y):
        return self.w * x * y + self.b


class Derivative(nn.Cell):
    """The gradient of a network w.r.t. its first input, as a Cell (the seed's pattern)."""

    def __init__(self, net, grad=None):
        super().__init__()
        self.net = net
        self.grad = grad or Grad()

    def construct(self, *inputs):
        return self.grad(self.net)(*inputs)


# ---- return structures ---------------------------------------------------------------------------
def test_default_returns_the_bare_gradient_of_the_first_input(mode):
    x, y = f64(1.0, 2.0), f64(3.0, 4.0)
    grad = Grad()(Scale())(x, y)
    assert isinstance(grad, Tensor)
    np.testing.assert_allclose(grad.asnumpy(), [2.0 * 3.0, 3.0 * 4.0])


def test_get_all_returns_a_tuple_even_for_one_input(mode):
    grads = Grad(get_all=True)(lambda x: x * x)(f64(3.0))
    assert isinstance(grads, tuple) and len(grads) == 1
    np.testing.assert_allclose(grads[0].asnumpy(), [6.0])


def test_get_by_list_with_a_parameter_tuple_returns_a_tuple(mode):
    net = Scale()
    grads = Grad(get_by_list=True)(net, ParameterTuple(net.trainable_params()))(
        f64(1.0, 2.0), f64(3.0, 4.0))
    assert isinstance(grads, tuple) and len(grads) == 2
    np.testing.assert_allclose(grads[0].asnumpy(), [3.0, 8.0])   # d/dw = x*y
    np.testing.assert_allclose(grads[1].asnumpy(), [2.0])        # d/db summed over broadcast


def test_get_by_list_with_one_parameter_returns_a_bare_tensor(mode):
    net = Scale()
    grad = Grad(get_by_list=True)(net, net.w)(f64(1.0, 2.0), f64(3.0, 4.0))
    assert isinstance(grad, Tensor)
    np.testing.assert_allclose(grad.asnumpy(), [3.0, 8.0])


def test_get_all_and_get_by_list_return_inputs_then_weights(mode):
    net = Scale()
    inputs, weights = Grad(get_all=True, get_by_list=True)(net, [net.w])(
        f64(1.0, 2.0), f64(3.0, 4.0))
    np.testing.assert_allclose(inputs[0].asnumpy(), [6.0, 12.0])
    np.testing.assert_allclose(inputs[1].asnumpy(), [2.0, 6.0])
    np.testing.assert_allclose(weights[0].asnumpy(), [3.0, 8.0])


def test_sens_weights_the_output(mode):
    grad = Grad(sens_param=True)(lambda x: x * x)(f64(1.0, 2.0), f64(10.0, 100.0))
    np.testing.assert_allclose(grad.asnumpy(), [20.0, 400.0])


def test_tuple_outputs_are_summed_without_sens(mode):
    grad = Grad()(lambda x: (x * x, x * 3.0))(f64(2.0))
    np.testing.assert_allclose(grad.asnumpy(), [7.0])


def test_tuple_outputs_take_a_tuple_sens(mode):
    grad = Grad(sens_param=True)(lambda x: (x * x, x * 3.0))(f64(2.0), (f64(0.0), f64(1.0)))
    np.testing.assert_allclose(grad.asnumpy(), [3.0])
    grad = Grad(sens_param=True)(lambda x: (x * x, x * 3.0))(f64(2.0), (f64(1.0), f64(0.0)))
    np.testing.assert_allclose(grad.asnumpy(), [4.0])


def test_python_numbers_are_constants_without_gradients(mode):
    grads = Grad(get_all=True)(lambda x, k, y: x * k * y)(f64(2.0), 5.0, f64(3.0))
    assert len(grads) == 2
    np.testing.assert_allclose(grads[0].asnumpy(), [15.0])
    np.testing.assert_allclose(grads[1].asnumpy(), [10.0])


def test_int32_inputs_get_their_gradient_in_int32_as_in_mindspore(mode):
    # MindSpore differentiates integer inputs: Cast's derivative casts the cotangent back
    n = Tensor(np.array([1, 2, 3], dtype=np.int32))
    grads = Grad(get_all=True)(lambda x, n: x * ops.Cast()(n, mstype.float64))(f64(1.5, 2.0, 3.0), n)
    assert grads[1].dtype == mstype.int32
    assert grads[1].asnumpy().tolist() == [1, 2, 3]    # int(x)
    np.testing.assert_allclose(grads[0].asnumpy(), [1.0, 2.0, 3.0])


def test_rounding_a_float_to_an_integer_passes_no_gradient(mode):
    rounded = Grad()(lambda x: x * ops.Cast()(ops.Cast()(x, mstype.int32), mstype.float64))
    np.testing.assert_allclose(rounded(f64(2.5)).asnumpy(), [2.0])    # d/dx x·int(x) = int(x)


def test_an_input_the_output_ignores_gets_zeros(mode):
    grads = Grad(get_all=True)(lambda x, y: x * 2.0)(f64(1.0), f64(1.0, 2.0, 3.0))
    np.testing.assert_allclose(grads[1].asnumpy(), [0.0, 0.0, 0.0])


def test_a_parameter_the_output_ignores_gets_zeros(mode):
    unused = Parameter(f64(1.0, 2.0), name="unused")
    grad = Grad(get_by_list=True)(lambda x: x * x, unused)(f64(3.0))
    np.testing.assert_allclose(grad.asnumpy(), [0.0, 0.0])


# ---- nesting ---------------------------------------------------------------------------------------
def test_third_derivative_of_3x_cubed_is_18(mode):
    cube = lambda x: x * x * x * 3.0  # noqa: E731
    third = Grad()(Grad()(Grad()(cube)))
    np.testing.assert_allclose(third(f64(0.7, -2.0)).asnumpy(), [18.0, 18.0])
    third_cells = Derivative(Derivative(Derivative(lambda x: x * x * x * 3.0)))
    np.testing.assert_allclose(third_cells(f64(0.7)).asnumpy(), [18.0])


def test_gradient_functions_nest_directly_at_top_level(mode):
    second = Grad()(Grad()(ops.sin))
    np.testing.assert_allclose(second(f64(1.0)).asnumpy(), [-np.sin(1.0)])


def test_mixed_partials_of_x2y_via_tuple_sens(mode):
    first = Grad(get_all=True)(lambda x, y: x * x * y)
    second = Grad(get_all=True, sens_param=True)(first)
    x, y = f64(4.0), f64(5.0)
    dxdx, dxdy = second(x, y, (f64(1.0), f64(0.0)))
    dydx, dydy = second(x, y, (f64(0.0), f64(1.0)))
    np.testing.assert_allclose([dxdx.asnumpy()[0], dxdy.asnumpy()[0], dydx.asnumpy()[0],
                                dydy.asnumpy()[0]], [2 * 5.0, 2 * 4.0, 2 * 4.0, 0.0])


def test_get_by_list_at_the_outer_level_over_an_inner_input_gradient(mode):
    class Quadratic(nn.Cell):
        def __init__(self):
            super().__init__()
            self.w = Parameter(f64(3.0), name="w")

        def construct(self, x):
            return self.w * x * x * x

    net = Quadratic()
    inner = Derivative(net)                      # ∂f/∂x = 3 w x²
    outer = Grad(get_by_list=True)(inner, ParameterTuple(net.trainable_params()))
    (dw,) = outer(f64(2.0))                      # ∂/∂w (3 w x²) = 3 x² = 12
    np.testing.assert_allclose(dw.asnumpy(), [12.0])
    second_order = Grad(get_by_list=True)(Derivative(inner), net.w)(f64(2.0))  # ∂/∂w 6 w x
    np.testing.assert_allclose(second_order.asnumpy(), [12.0])


def test_multi_output_nets_with_tuple_sens_at_second_order(mode):
    class TwoOutputs(nn.Cell):
        def construct(self, x, y):
            return ops.sin(x) * y, x * x * y * y

    sens = (f64(0.5), f64(2.0))
    grad_first = Grad(get_all=True, sens_param=True)

    class First(nn.Cell):
        def construct(self, x, y):
            return grad_first(TwoOutputs())(x, y, sens)

    x, y = 0.3, 1.7
    # ∂/∂x of 0.5 y sin x + 2 x² y² is 0.5 y cos x + 4 x y²; ∂/∂y is 0.5 sin x + 4 x² y
    dx, dy = First()(f64(x), f64(y))
    np.testing.assert_allclose(dx.asnumpy(), [0.5 * y * np.cos(x) + 4 * x * y * y])
    np.testing.assert_allclose(dy.asnumpy(), [0.5 * np.sin(x) + 4 * x * x * y])
    hxx, hxy = Grad(get_all=True, sens_param=True)(First())(f64(x), f64(y), (f64(1.0), f64(0.0)))
    np.testing.assert_allclose(hxx.asnumpy(), [-0.5 * y * np.sin(x) + 4 * y * y])
    np.testing.assert_allclose(hxy.asnumpy(), [0.5 * np.cos(x) + 8 * x * y])


def test_a_cell_with_bprop_uses_it_and_differentiates_it_to_third_order(mode):
    class CubeWithOwnRule(nn.Cell):
        """x³, but with a deliberately different derivative 5x², so we see bprop is used."""

        def construct(self, x):
            return x * x * x

        def bprop(self, x, out, dout):
            return (dout * x * x * 5.0,)

    x = f64(1.5)
    first, second, third = (Derivative(CubeWithOwnRule()),
                            Derivative(Derivative(CubeWithOwnRule())),
                            Derivative(Derivative(Derivative(CubeWithOwnRule()))))
    np.testing.assert_allclose(first(x).asnumpy(), [5 * 1.5 ** 2])
    np.testing.assert_allclose(second(x).asnumpy(), [10 * 1.5])
    np.testing.assert_allclose(third(x).asnumpy(), [10.0])
    # the forward value is construct's
    np.testing.assert_allclose(Grad()(lambda t: CubeWithOwnRule()(t) * 0.0 + t)(x).asnumpy(), [1.0])


def test_bprop_may_use_the_forward_output(mode):
    class ExpWithRule(nn.Cell):
        def construct(self, x):
            return ops.exp(x)

        def bprop(self, x, out, dout):
            return (dout * out,)

    x = f64(0.4)
    third = Grad()(Grad()(Grad()(ExpWithRule())))
    np.testing.assert_allclose(third(x).asnumpy(), [np.exp(0.4)])


def test_second_derivative_w_r_t_weights_gives_the_hessian_diagonal(mode):
    class Loss(nn.Cell):
        def __init__(self):
            super().__init__()
            self.w = Parameter(f64(0.5, -1.0), name="w")

        def construct(self, x):
            return ops.ReduceSum()(ops.exp(self.w * x))

    net = Loss()
    first = Grad(get_by_list=True)(net, net.w)
    second = Grad(get_by_list=True)(first, net.w)
    x = f64(2.0, 3.0)
    np.testing.assert_allclose(second(x).asnumpy(), [4 * np.exp(1.0), 9 * np.exp(-3.0)])


def test_parameter_updates_reach_a_compiled_gradient_without_retracing(mode):
    net = Scale()
    grad = Grad()(net)
    x, y = f64(1.0, 1.0), f64(1.0, 1.0)
    np.testing.assert_allclose(grad(x, y).asnumpy(), [2.0, 3.0])
    net.w.set_data(np.array([7.0, 9.0]))
    np.testing.assert_allclose(grad(x, y).asnumpy(), [7.0, 9.0])


def test_an_argument_holding_tensors_gets_gradients_in_its_structure(mode):
    x = f64(1.5, -0.5)
    grads = Grad(get_all=True)(lambda a, pair, k: a * pair[0] * pair[1] * k)(x, (x, x), 2.0)
    assert len(grads) == 2 and isinstance(grads[1], tuple) and len(grads[1]) == 2
    np.testing.assert_allclose(grads[0].asnumpy(), 2 * x.asnumpy() ** 2)
    np.testing.assert_allclose(grads[1][0].asnumpy(), 2 * x.asnumpy() ** 2)
    first = Grad()(lambda pair: pair["u"] * pair["v"])({"u": f64(2.0), "v": f64(3.0)})
    assert set(first) == {"u", "v"}
    np.testing.assert_allclose(first["u"].asnumpy(), [3.0])
