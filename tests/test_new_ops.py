"""The ops MindSpore users reached for: rounding, remainders, extremes, one-hot, random draws,
dense linear algebra with derivatives (against torch float64), and Tensor's operators."""
import pickle

import numpy as np
import pytest
import torch

import hograd
from hograd import Tensor, nn, ops

MATRIX = np.array([[2.0, 0.3, 0.1], [0.2, 1.5, -0.3], [0.1, 0.4, 1.8]])
SPD = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, -0.4], [0.5, -0.4, 2.5]])


def test_remainders_follow_python_and_c():
    x, y = np.array([-4.0, 5.0, 6.0, -7.0]), np.array([3.0, 2.0, -4.0, -2.0])
    np.testing.assert_array_equal(ops.FloorMod()(Tensor(x), Tensor(y)).asnumpy(), x % y)
    np.testing.assert_array_equal(ops.Mod()(Tensor(x), Tensor(y)).asnumpy(), np.fmod(x, y))
    ints = Tensor(np.array([-7, 7], np.int32))
    np.testing.assert_array_equal((ints % 3).asnumpy(), [2, 1])
    np.testing.assert_array_equal(ops.Mod()(ints, Tensor(np.array([3, 3], np.int32))).asnumpy(),
                                  [-1, 1])


def test_python_operators_and_methods():
    x = Tensor([-3.5, 2.0, 7.0])
    np.testing.assert_array_equal(abs(x).asnumpy(), [3.5, 2.0, 7.0])
    np.testing.assert_array_equal((x // 2).asnumpy(), [-2.0, 1.0, 3.0])
    np.testing.assert_array_equal((x % 3).asnumpy(), [2.5, 2.0, 1.0])
    assert x.max().item() == 7.0 and x.min().item() == -3.5
    assert x.tolist() == [-3.5, 2.0, 7.0]
    assert x.argmax().item() == 2 and x.argmin().item() == 0
    np.testing.assert_array_equal(ops.floor(x).asnumpy(), [-4.0, 2.0, 7.0])


def test_floor_mod_derivative_is_minus_the_quotient(mode):
    x, y = Tensor(np.array([5.3, -2.2])), Tensor(np.array([2.0, 1.5]))
    dx, dy = ops.GradOperation(get_all=True)(lambda a, b: a % b)(x, y)
    np.testing.assert_allclose(dx.asnumpy(), [1.0, 1.0])
    np.testing.assert_allclose(dy.asnumpy(), [-2.0, 2.0])


def test_clip_by_value_limits_and_passes_gradient_inside():
    x = Tensor(np.array([-2.0, 0.5, 3.0]))
    np.testing.assert_array_equal(ops.clip_by_value(x, -1.0, 1.0).asnumpy(), [-1.0, 0.5, 1.0])
    grad = ops.GradOperation()(lambda t: ops.clip_by_value(t, -1.0, 1.0))(x)
    np.testing.assert_array_equal(grad.asnumpy(), [0.0, 1.0, 0.0])


def test_argmax_with_value_gives_indices_and_differentiable_values(mode):
    x = Tensor(np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]))
    index, value = ops.ArgMaxWithValue(axis=1)(x)
    assert index.dtype == hograd.int32
    np.testing.assert_array_equal(index.asnumpy(), [1, 0])
    np.testing.assert_array_equal(value.asnumpy(), [5.0, 7.0])
    grad = ops.GradOperation()(lambda t: ops.ArgMaxWithValue(axis=1)(t)[1])(x)
    np.testing.assert_array_equal(grad.asnumpy(), [[0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(ops.argmin(x, axis=0).asnumpy(), [0, 1, 0])


def test_one_hot_places_on_and_off_values():
    out = ops.OneHot()(Tensor(np.array([0, 2], np.int32)), 3, Tensor(5.0), Tensor(-1.0))
    np.testing.assert_array_equal(out.asnumpy(), [[5, -1, -1], [-1, -1, 5]])
    transposed = ops.OneHot(axis=0)(Tensor(np.array([1, 0])), 2, Tensor(1.0), Tensor(0.0))
    np.testing.assert_array_equal(transposed.asnumpy(), [[0, 1], [1, 0]])


def test_random_draws_are_seeded_and_the_same_in_both_modes():
    draws = {}
    for mode in (hograd.GRAPH_MODE, hograd.PYNATIVE_MODE):
        hograd.set_context(mode=mode)

        class Noise(nn.Cell):
            def __init__(self):
                super().__init__()
                self.normal = ops.StandardNormal(seed=3)

            def construct(self, x):
                return x + self.normal((2, 3))

        hograd.set_seed(7)
        net = Noise()
        draws[mode] = [net(Tensor(np.zeros((2, 3), np.float32))).asnumpy() for _ in range(2)]
    graph, pynative = draws[hograd.GRAPH_MODE], draws[hograd.PYNATIVE_MODE]
    np.testing.assert_array_equal(graph[0], pynative[0])
    np.testing.assert_array_equal(graph[1], pynative[1])
    assert not np.array_equal(graph[0], graph[1])       # a new sample on every call
    assert abs(graph[0].mean()) < 2 and graph[0].dtype == np.float32
    uniform = ops.UniformReal(seed=1)((1000,)).asnumpy()
    assert 0 <= uniform.min() and uniform.max() < 1 and abs(uniform.mean() - 0.5) < 0.05


def _torch_grads(fn, *arrays):
    """Gradient of sum(fn(...) * weights) w.r.t. every array, and its second derivative along a
    direction, in torch float64: the reference values."""
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    weights = torch.linspace(0.5, 1.5, out.numel(), dtype=torch.float64).reshape(out.shape)
    grads = torch.autograd.grad((out * weights).sum(), tensors, create_graph=True)
    second = torch.autograd.grad(sum(g.sum() for g in grads), tensors)
    return [g.detach().numpy() for g in grads], [s.numpy() for s in second], weights.numpy()


LINALG_CASES = [
    ("inverse", lambda a: ops.MatrixInverse()(a), torch.linalg.inv, [MATRIX]),
    ("solve", lambda a, b: ops.MatrixSolve()(a, b), torch.linalg.solve,
     [MATRIX, np.array([[1.0, -0.5], [0.3, 2.0], [-1.2, 0.7]])]),
    ("cholesky", lambda a: ops.Cholesky()(a),
     lambda a: torch.linalg.cholesky((a + a.T) / 2), [SPD]),
    ("det", lambda a: ops.det(a), torch.linalg.det, [MATRIX]),
    ("logdet", lambda a: ops.slogdet(a)[1], lambda a: torch.linalg.slogdet(a)[1], [SPD]),
]


@pytest.mark.parametrize("name,ours,theirs,arrays", LINALG_CASES, ids=[c[0] for c in LINALG_CASES])
def test_linear_algebra_values_and_two_derivatives_match_torch(name, ours, theirs, arrays, mode):
    grads, seconds, weights = _torch_grads(theirs, *arrays)
    tensors = [Tensor(a) for a in arrays]
    out = ours(*tensors)
    np.testing.assert_allclose(out.asnumpy(), theirs(*map(torch.tensor, arrays)).numpy(),
                               rtol=1e-12, atol=1e-12)
    sens = Tensor(weights)
    first = ops.GradOperation(get_all=True, sens_param=True)(ours)
    got = first(*tensors, sens)
    for want, have in zip(grads, got):
        np.testing.assert_allclose(have.asnumpy(), want, rtol=1e-10, atol=1e-12)

    def summed_gradient(*inputs):
        total = 0.0
        for g in first(*inputs, sens):
            total = total + ops.reduce_sum(g)
        return total

    got_second = ops.GradOperation(get_all=True)(summed_gradient)(*tensors)
    for want, have in zip(seconds, got_second):
        np.testing.assert_allclose(have.asnumpy(), want, rtol=1e-9, atol=1e-11)


def test_batched_matmul_operator_follows_numpy(rng):
    a, b = rng.standard_normal((4, 2, 3)), rng.standard_normal((3, 5))
    np.testing.assert_allclose((Tensor(a) @ Tensor(b)).asnumpy(), a @ b, rtol=1e-12)
    c = rng.standard_normal((4, 3, 2))
    np.testing.assert_allclose((Tensor(a) @ Tensor(c)).asnumpy(), a @ c, rtol=1e-12)
    v = rng.standard_normal(3)
    np.testing.assert_allclose((Tensor(a) @ Tensor(v)).asnumpy(), a @ v, rtol=1e-12)
    grad = ops.GradOperation()(lambda x: (x @ Tensor(c)).sum())(Tensor(a))
    np.testing.assert_allclose(grad.asnumpy(), np.broadcast_to(c.sum(-1), (4, 3)).reshape(4, 1, 3)
                               .repeat(2, axis=1), rtol=1e-12)


def test_linear_algebra_refuses_non_square_input_clearly():
    with pytest.raises(Exception, match="square 2-D matrix"):
        ops.MatrixInverse()(Tensor(np.ones((2, 3))))
    with pytest.raises(Exception, match="2-D matrix with 3 rows"):
        ops.MatrixSolve()(Tensor(MATRIX), Tensor(np.ones(3)))


def test_tensors_inside_a_trace_refuse_pickling_with_a_reason():
    def f(x):
        pickle.dumps(x)
        return x

    with pytest.raises(TypeError, match="inside a trace"):
        ops.GradOperation()(f)(Tensor([1.0]))
