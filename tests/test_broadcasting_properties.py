"""Properties of the transformer's generic parts, over generated shapes (hypothesis)."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hograd import Tensor, ops


@st.composite
def broadcastable_shapes(draw):
    """Two shapes that broadcast together: dims dropped from the front or set to 1."""
    full = draw(st.lists(st.integers(1, 3), min_size=0, max_size=3))
    def variant():
        dims = list(full[draw(st.integers(0, len(full))):])
        return tuple(1 if draw(st.booleans()) else d for d in dims)
    return variant(), variant()


@settings(max_examples=40, deadline=None, derandomize=True)
@given(broadcastable_shapes(), st.integers(0, 2 ** 16))
def test_gradients_of_broadcast_products_are_summed_back_to_each_shape(shapes, seed):
    x_shape, y_shape = shapes
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(x_shape), rng.standard_normal(y_shape)
    out_shape = np.broadcast_shapes(x_shape, y_shape)
    sens = rng.standard_normal(out_shape)
    dx, dy = ops.GradOperation(get_all=True, sens_param=True)(lambda a, b: a * b)(
        Tensor(x), Tensor(y), Tensor(sens))
    # d⟨a·b, s⟩/da = Σ over the broadcast axes of s·b, in a's shape
    expected_dx = np.broadcast_to(sens * y, out_shape)
    expected_dy = np.broadcast_to(sens * x, out_shape)
    for got, expected, shape in ((dx, expected_dx, x_shape), (dy, expected_dy, y_shape)):
        extra = len(out_shape) - len(shape)
        summed = expected.sum(axis=tuple(range(extra))) if extra else expected
        summed = summed.sum(axis=tuple(i for i, d in enumerate(shape) if d == 1),
                            keepdims=True).reshape(shape) if shape else summed.sum()
        assert got.shape == shape
        np.testing.assert_allclose(got.asnumpy(), summed, rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(["sin", "tanh", "cos", "sigmoid", "softplus", "atan"]), min_size=1,
                max_size=4), st.floats(-1.5, 1.5))
def test_second_derivatives_of_random_compositions_match_finite_differences(names, point):
    # functions of bounded growth: a tower of exp would overflow float64, testing nothing
    def composed(t):
        for name in names:
            t = getattr(ops, name)(t)
        return t

    second = ops.GradOperation()(ops.GradOperation()(composed))
    first = ops.GradOperation()(composed)
    eps = 1e-5
    quotient = (first(Tensor(np.array([point + eps]))).asnumpy()
                - first(Tensor(np.array([point - eps]))).asnumpy()) / (2 * eps)
    np.testing.assert_allclose(second(Tensor(np.array([point]))).asnumpy(), quotient,
                               rtol=1e-6, atol=1e-8)
