"""Sums of products (core/canonical.py): derived graphs have their like terms collected,
cancelling terms dropped and the rest refactored — proven on the graphs and on numbers
(analytic derivatives, torch float64), special values included."""
import numpy as np
import pytest
import torch

import hograd
from hograd import Tensor, ops
from hograd.core.canonical import collect_terms
from hograd.core.executor import compile_graph
from hograd.core.passes import simplify
from hograd.core.registry import registry
from hograd.core.staging import stage

RNG = np.random.default_rng(41)


def nth(fn, order):
    for _ in range(order):
        fn = ops.GradOperation()(fn)
    return fn


def derived(fn, *arrays):
    """``fn``'s graph simplified as a derived graph is (a user's own graph is not collected)."""
    return simplify(stage(fn, [Tensor(a) for a in arrays]).graph)


def evaluate(graph, *arrays):
    return compile_graph(graph, registry().device("cpu"))(list(arrays))[0]


def ops_of(graph) -> list[str]:
    return [node.op for node in graph.nodes]


# ---- the normal form ----------------------------------------------------------------------------
def test_like_terms_meet_in_one_scale():
    graph = derived(lambda x: 2.0 * ops.sin(x) + ops.sin(x) * 3.0, np.ones(3))
    assert sorted(ops_of(graph)) == ["Constant", "Mul", "Sin"]       # 5·sin x
    x = RNG.standard_normal(3)
    np.testing.assert_allclose(evaluate(graph, x), 5.0 * np.sin(x), rtol=1e-15)


def test_twice_a_value_stays_one_addition():
    graph = derived(lambda x: ops.sin(x) + ops.sin(x), np.ones(3))
    assert ops_of(graph) == ["Sin", "Add"]                          # x + x is 2·x exactly


@pytest.mark.parametrize("fn", [lambda x: ops.sin(x) - ops.sin(x),
                                lambda x: ops.sin(x) + -ops.sin(x),
                                lambda x: 2.0 * ops.exp(x) * ops.sin(x)
                                - ops.sin(x) * (ops.exp(x) + ops.exp(x))])
def test_a_sum_that_cancels_is_a_symbolic_zero(fn):
    graph = derived(fn, np.ones(3))
    assert ops_of(graph) == ["Fill"]
    assert graph.nodes[0].attr_dict["value"] == 0.0
    np.testing.assert_array_equal(evaluate(graph, RNG.standard_normal(3)), np.zeros(3))


def test_a_factor_shared_by_collected_terms_is_taken_out():
    def fn(x):
        s, c, e = ops.sin(x), ops.cos(x), ops.exp(x)
        return 2.0 * s * e + c * e + s * e

    graph = derived(fn, np.ones(3))
    assert ops_of(graph).count("Mul") == 2                          # (3·sin x + cos x)·eˣ
    x = RNG.standard_normal(3)
    np.testing.assert_allclose(evaluate(graph, x), (3 * np.sin(x) + np.cos(x)) * np.exp(x),
                               rtol=1e-14)


def test_regrouping_alone_is_left_as_it_is():
    """a·c + b·c with values a, b: nothing collects, so nothing is rewritten (regrouping alone
    was measured to make later derivatives larger, not smaller)."""
    graph = derived(lambda x: ops.sin(x) * ops.exp(x) + ops.cos(x) * ops.exp(x), np.ones(3))
    assert ops_of(graph).count("Mul") == 2


def test_a_polynomial_in_tanh_is_written_horners_way():
    # the 6th derivative of tanh is 720t⁷ - 1680t⁵ + 1232t³ - 272t in t = tanh x: one tanh,
    # one square, then a multiply-add per coefficient
    graph = nth(ops.tanh, 6).graph(Tensor(np.ones(3)))
    assert ops_of(graph).count("Tanh") == 1 and len(graph.nodes) <= 13
    x = RNG.uniform(-2, 2, 5)
    t = np.tanh(x)
    want = 720 * t ** 7 - 1680 * t ** 5 + 1232 * t ** 3 - 272 * t
    np.testing.assert_allclose(nth(ops.tanh, 6)(Tensor(x)).asnumpy(), want, rtol=1e-12,
                               atol=1e-12)


def test_division_by_a_constant_is_a_scale():
    graph = derived(lambda x: ops.sin(x) / 4.0 + ops.sin(x) * 0.75, np.ones(3))
    assert sorted(ops_of(graph)) == ["Sin"]                          # ¼ + ¾ = 1
    x = RNG.standard_normal(3)
    np.testing.assert_allclose(evaluate(graph, x), np.sin(x), rtol=1e-15)


def test_broadcast_terms_keep_the_node_shape():
    row = RNG.standard_normal((1, 4))

    def fn(x):
        wide = ops.broadcast_to(x, shape=(3, 4))
        return wide * 2.0 - x + Tensor(row) * 0.0 + ops.zeros_like(wide)

    graph = derived(fn, np.ones((1, 4)))
    assert graph.outputs[0].aval.shape == (3, 4)
    x = RNG.standard_normal((1, 4))
    np.testing.assert_allclose(evaluate(graph, x), np.broadcast_to(x, (3, 4)), rtol=1e-15)


def test_the_same_polynomial_grouped_two_ways_is_one_value():
    def fn(x):
        a, b, c = ops.sin(x), ops.cos(x), ops.exp(x)
        return ops.tanh((a * b + c) * 2.0) + ops.tanh(c * 2.0 + (b * a + b * a))

    graph = derived(fn, np.ones(3))
    assert ops_of(graph).count("Tanh") == 1
    x = RNG.standard_normal(3)
    np.testing.assert_allclose(evaluate(graph, x),
                               2 * np.tanh(2 * (np.sin(x) * np.cos(x) + np.exp(x))), rtol=1e-14)


def test_commutative_operands_are_one_value_before_collecting():
    graph = stage(lambda a, b: ops.sin(a * b) + ops.sin(b * a) + ops.cos(a + b) * ops.cos(b + a),
                  [Tensor(np.ones(3)), Tensor(np.ones(3))]).graph
    assert ops_of(graph).count("Mul") == 2                          # a·b, cos·cos
    assert ops_of(graph).count("Sin") == 1 and ops_of(graph).count("Cos") == 1


def test_a_graph_without_arithmetic_to_collect_is_unchanged():
    graph = nth(ops.sin, 3).graph(Tensor(np.ones(3)))
    assert collect_terms(graph).nodes == graph.nodes


# ---- what it is for: derivatives -----------------------------------------------------------------
def test_the_fourth_derivative_of_sin_times_exp_is_minus_four_sin_exp():
    graph = nth(lambda x: ops.sin(x) * ops.exp(x), 4).graph(Tensor(np.ones(3)))
    assert "Cos" not in ops_of(graph)
    assert sorted(ops_of(graph)) == ["Constant", "Exp", "Mul", "Mul", "Sin"]
    x = RNG.uniform(-3, 3, 7)
    got = nth(lambda v: ops.sin(v) * ops.exp(v), 4)(Tensor(x)).asnumpy()
    np.testing.assert_allclose(got, -4 * np.sin(x) * np.exp(x), rtol=1e-14)


@pytest.mark.parametrize("order", range(1, 7))
def test_derivatives_of_sin_times_exp_match_the_closed_form(order, mode):
    # dⁿ/dxⁿ sin x·eˣ = 2^(n/2)·eˣ·sin(x + nπ/4)
    x = RNG.uniform(-3, 3, 7)
    got = nth(lambda v: ops.sin(v) * ops.exp(v), order)(Tensor(x)).asnumpy()
    want = 2 ** (order / 2) * np.exp(x) * np.sin(x + order * np.pi / 4)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("order", range(1, 7))
def test_derivatives_of_tanh_match_torch(order):
    x = RNG.uniform(-2, 2, 6)
    got = nth(ops.tanh, order)(Tensor(x)).asnumpy()
    fn = torch.tanh
    for _ in range(order):
        fn = torch.func.grad(lambda v, f=fn: f(v).sum())
    want = torch.func.vmap(fn)(torch.tensor(x)).numpy() if order else np.tanh(x)
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


def test_mlp_derivatives_to_fourth_order_match_torch():
    class MLP(hograd.nn.Cell):
        def __init__(self, weights):
            super().__init__()
            self.w1, self.b1, self.w2, self.b2, self.w3 = (Tensor(w) for w in weights)

        def construct(self, x):
            h = ops.tanh(ops.matmul(x, self.w1) + self.b1)
            h = ops.tanh(ops.matmul(h, self.w2) + self.b2)
            return ops.matmul(h, self.w3)

    weights = [RNG.standard_normal((1, 8)), RNG.standard_normal(8),
               RNG.standard_normal((8, 8)) / 3, RNG.standard_normal(8),
               RNG.standard_normal((8, 1)) / 3]
    tw = [torch.tensor(w) for w in weights]

    def t_net(v):
        h = torch.tanh(v.reshape(1, 1) @ tw[0] + tw[1])
        h = torch.tanh(h @ tw[2] + tw[3])
        return (h @ tw[4]).sum()

    fn = t_net
    for _ in range(4):
        fn = torch.func.grad(fn)
    x = RNG.uniform(-1, 1, (5, 1))
    want = torch.func.vmap(fn)(torch.tensor(x[:, 0])).numpy()
    got = nth(MLP(weights), 4)(Tensor(x)).asnumpy()[:, 0]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


# ---- special values -------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:overflow encountered")
@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_a_cancelled_term_that_overflows_no_longer_makes_nan():
    """At x = 710 eˣ overflows: the terms of cos x·eˣ that cancel were inf - inf = NaN; the
    collected 4th derivative is -4·sin x·eˣ, the infinity it is."""
    x = np.array([709.0, 710.0, 711.0])
    got = nth(lambda v: ops.sin(v) * ops.exp(v), 4)(Tensor(x)).asnumpy()
    want = -4 * np.sin(x) * np.exp(x)
    assert np.isinf(want[1:]).all()
    np.testing.assert_array_equal(got[1:], want[1:])
    np.testing.assert_allclose(got[0], want[0], rtol=1e-14)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_nan_and_infinity_pass_through_collected_terms():
    x = np.array([np.nan, np.inf, -np.inf, 0.5])
    got = nth(lambda v: ops.sin(v) * ops.exp(v), 4)(Tensor(x)).asnumpy()
    want = -4 * np.sin(x) * np.exp(x)   # NaN, NaN (sin inf), NaN·0 = NaN, a number
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[3], want[3], rtol=1e-14)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_identical_terms_cancel_to_zero_even_at_infinity_in_a_derived_graph():
    """The documented choice: in a derived graph x - x is a symbolic 0 at x = ±inf and NaN
    (IEEE: NaN), as a zero cotangent is; d/dx (x·x - x·x) is 0 everywhere."""
    grad = ops.GradOperation()(lambda v: v * ops.exp(v) - ops.exp(v) * v)
    assert ops_of(grad.graph(Tensor(np.ones(3)))) == ["Fill"]
    np.testing.assert_array_equal(grad(Tensor(np.array([np.inf, np.nan, 1.0]))).asnumpy(),
                                  [0.0, 0.0, 0.0])


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_a_users_own_graph_keeps_ieee_for_x_minus_x(mode):
    """A compiled Cell's graph is not collected: x - x at inf is NaN in both modes."""
    def fn(x):
        return ops.sin(x) * 0.0 + (x - x)

    fn = hograd.jit(fn) if mode == "graph" else fn
    np.testing.assert_array_equal(fn(Tensor(np.array([np.inf, 1.0]))).asnumpy(), [np.nan, 0.0])


# ---- the sizes it keeps (issue 9: none may grow) ----------------------------------------------------
class _MLP(hograd.nn.Cell):
    """1-16-16-1, tanh, with biases."""

    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.w1 = hograd.Parameter(Tensor(rng.standard_normal((1, 16))), name="w1")
        self.b1 = hograd.Parameter(Tensor(rng.standard_normal((16,))), name="b1")
        self.w2 = hograd.Parameter(Tensor(rng.standard_normal((16, 16)) / 4), name="w2")
        self.b2 = hograd.Parameter(Tensor(rng.standard_normal((16,))), name="b2")
        self.w3 = hograd.Parameter(Tensor(rng.standard_normal((16, 1)) / 4), name="w3")
        self.b3 = hograd.Parameter(Tensor(rng.standard_normal((1,))), name="b3")

    def construct(self, x):
        h = ops.tanh(ops.matmul(x, self.w1) + self.b1)
        h = ops.tanh(ops.matmul(h, self.w2) + self.b2)
        return ops.matmul(h, self.w3) + self.b3


@pytest.mark.parametrize("name, fn, shape, before, now", [
    ("tanh", ops.tanh, (5,), 96, 13),
    ("sin·exp", lambda x: ops.sin(x) * ops.exp(x), (5,), 73, 5),
    ("1-16-16-1 tanh MLP", _MLP(), (5, 1), 519, 457),
])
def test_sixth_derivative_graphs_stay_small(name, fn, shape, before, now):
    """Nodes of the 6th derivative's graph: ``before`` the sums were collected, ``now``."""
    nodes = len(nth(fn, 6).graph(Tensor(np.linspace(-1, 1, 5).reshape(shape))).nodes)
    assert nodes <= now < before
