"""`if`/`while` on tensor values: traced with guards, retraced when a guard fails, never stale."""
import numpy as np

from hograd import Tensor, nn, ops
from hograd import dtype as mstype

Grad = ops.GradOperation


def f64(*values):
    return Tensor(np.array(values, dtype=np.float64))


class Branch(nn.Cell):
    """x³ above 1, sin x below."""

    def construct(self, x):
        if x > 1.0:
            return x * x * x
        return ops.sin(x)


class Doubling(nn.Cell):
    """Double x until it reaches 10, then square: the loop count depends on the value."""

    def construct(self, x):
        while x < 10.0:
            x = x * 2.0
        return x * x


class Derivative(nn.Cell):
    def __init__(self, net):
        super().__init__()
        self.net = net
        self.grad = Grad()

    def construct(self, x):
        return self.grad(self.net)(x)


def nth_derivative(net, order):
    for _ in range(order):
        net = Derivative(net)
    return net


def test_if_on_a_tensor_value_takes_the_branch_of_each_call(mode):
    net = Branch()
    np.testing.assert_allclose(net(f64(2.0)).asnumpy(), [8.0])
    np.testing.assert_allclose(net(f64(0.5)).asnumpy(), [np.sin(0.5)])
    np.testing.assert_allclose(net(f64(3.0)).asnumpy(), [27.0])


def test_if_derivatives_to_third_order_on_both_sides(mode):
    third = nth_derivative(Branch(), 3)
    for x, expected in [(2.0, 6.0), (0.5, -np.cos(0.5)), (3.0, 6.0), (-1.0, -np.cos(-1.0))]:
        np.testing.assert_allclose(third(f64(x)).asnumpy(), [expected], rtol=1e-12)
    second = nth_derivative(Branch(), 2)
    for x, expected in [(0.2, -np.sin(0.2)), (1.5, 9.0)]:
        np.testing.assert_allclose(second(f64(x)).asnumpy(), [expected], rtol=1e-12)


def test_while_derivatives_to_third_order_for_different_trip_counts(mode):
    # x doubled k times: f = 4^k x², f' = 2·4^k x, f'' = 2·4^k, f''' = 0
    cases = [(3.0, 2), (1.0, 4), (12.0, 0), (6.0, 1)]
    first, second, third = (nth_derivative(Doubling(), k) for k in (1, 2, 3))
    for x, trips in cases:
        scale = 4.0 ** trips
        np.testing.assert_allclose(first(f64(x)).asnumpy(), [2 * scale * x])
        np.testing.assert_allclose(second(f64(x)).asnumpy(), [2 * scale])
        np.testing.assert_allclose(third(f64(x)).asnumpy(), [0.0])


def test_a_compiled_graph_keeps_one_variant_per_branch(mode):
    net = Branch()
    for x in (2.0, 0.5, 3.0, 0.1, 2.5):
        net(f64(x))
    if mode == "graph":
        assert len(net._graphs) == 2   # one trace per branch, reused afterwards
    else:
        assert len(net._graphs) == 0   # PyNative runs construct eagerly


def test_top_level_gradient_function_retraces_when_its_guard_fails(mode):
    grad = Grad()(Branch())
    np.testing.assert_allclose(grad(f64(2.0)).asnumpy(), [12.0])
    np.testing.assert_allclose(grad(f64(0.0)).asnumpy(), [1.0])
    np.testing.assert_allclose(grad(f64(2.0)).asnumpy(), [12.0])


def test_python_control_flow_on_python_values_is_unrolled_per_signature(mode):
    class Power(nn.Cell):
        def construct(self, x, n):
            out = x
            for _ in range(n - 1):
                out = out * x
            return out

    net = Power()
    grad = Grad()(net)
    np.testing.assert_allclose(grad(f64(2.0), 3).asnumpy(), [12.0])
    np.testing.assert_allclose(grad(f64(2.0), 4).asnumpy(), [32.0])


def test_guard_on_an_integer_tensor_value(mode):
    class Repeat(nn.Cell):
        def construct(self, x, n):
            out = x
            for _ in range(int(n)):
                out = out * x
            return out

    net = Repeat()
    n2, n3 = Tensor(np.array(2, np.int64)), Tensor(np.array(3, np.int64))
    np.testing.assert_allclose(net(f64(2.0), n2).asnumpy(), [8.0])
    np.testing.assert_allclose(net(f64(2.0), n3).asnumpy(), [16.0])
    np.testing.assert_allclose(Grad()(net)(f64(2.0), n3).asnumpy(), [32.0])
    assert Grad(get_all=True)(net)(f64(2.0), n2)[1].dtype == mstype.int64


def test_reading_values_that_change_every_call_warns_about_retracing():
    import warnings

    from hograd import context
    from hograd.core.cache import LIMITS

    class Peeking(nn.Cell):
        def construct(self, x):
            return x * float(x)

    context.set_context(mode=context.GRAPH_MODE)
    net = Peeking()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for value in range(LIMITS.retrace_warning_at):
            np.testing.assert_allclose(net(f64(float(value))).asnumpy(), [value * value])
    assert any("traced 16 times" in str(w.message) for w in caught)
