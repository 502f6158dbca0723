"""Tensor, Parameter, ParameterTuple and dtypes as MindSpore users know them."""
import numpy as np
import pytest

from hograd import Parameter, ParameterTuple, Tensor, nn, ops
from hograd import dtype as mstype


def test_python_floats_default_to_float32_and_ints_to_int64():
    assert Tensor([[0.8, 0.6]]).dtype == mstype.float32
    assert Tensor([1, 2]).dtype == mstype.int64
    assert Tensor(np.array([1.0])).dtype == mstype.float64
    assert Tensor([True]).dtype == mstype.bool_
    assert Tensor([1.0], dtype=mstype.float64).dtype == mstype.float64


def test_metadata():
    t = Tensor(np.zeros((2, 3, 4), np.float32))
    assert (t.shape, t.ndim, t.size, len(t)) == ((2, 3, 4), 3, 24, 2)


def test_prints_like_the_numpy_array_it_holds():
    t = Tensor([[4.5099998, 2.7], [1.0, 0.0]], dtype=mstype.float32)
    assert str(t) == str(np.array([[4.5099998, 2.7], [1.0, 0.0]], np.float32))
    assert repr(Tensor([1.5])) == "Tensor(shape=[1], dtype=Float32, value=[1.5])"


def test_python_operators():
    x, y = Tensor([6.0, 8.0]), Tensor([2.0, 4.0])
    for result, expected in [(x + y, [8, 12]), (x - y, [4, 4]), (x * y, [12, 32]),
                             (x / y, [3, 2]), (y ** 2, [4, 16]), (-x, [-6, -8]),
                             (1.0 - y, [-1, -3]), (2.0 / y, [1, 0.5]), (3 * y, [6, 12])]:
        np.testing.assert_allclose(result.asnumpy(), expected)
    a = Tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_allclose((a @ a.T).asnumpy(), np.arange(6.0).reshape(2, 3) @
                               np.arange(6.0).reshape(2, 3).T)


def test_indexing_and_slicing():
    a = Tensor(np.arange(12.0).reshape(3, 4))
    expected = np.arange(12.0).reshape(3, 4)
    assert a[0][0].asnumpy() == 0.0
    np.testing.assert_array_equal(a[:, 1].asnumpy(), expected[:, 1])
    np.testing.assert_array_equal(a[1:, ::2].asnumpy(), expected[1:, ::2])
    np.testing.assert_array_equal(a[-1].asnumpy(), expected[-1])
    np.testing.assert_array_equal(a[None, ..., 2].asnumpy(), expected[None, ..., 2])
    with pytest.raises(ValueError, match="out of bounds"):
        a[3]


def test_gradient_of_a_slice_scatters_back():
    grad = ops.GradOperation()(lambda t: t[1:, ::2] * 3.0)(Tensor(np.ones((3, 4))))
    expected = np.zeros((3, 4))
    expected[1:, ::2] = 3.0
    np.testing.assert_array_equal(grad.asnumpy(), expected)


def test_parameter_set_data_keeps_shape_and_dtype():
    w = Parameter(Tensor([1.0, 2.0]), name="w")
    w.set_data(np.array([3.0, 4.0]))
    np.testing.assert_allclose(w.asnumpy(), [3.0, 4.0])
    assert w.dtype == mstype.float32
    with pytest.raises(ValueError, match="set_data got shape"):
        w.set_data(np.array([1.0]))


def test_parameter_tuple_holds_only_parameters():
    w = Parameter(Tensor([1.0]), name="w")
    assert ParameterTuple([w])[0] is w
    with pytest.raises(TypeError, match="item 0 is a Tensor, not a Parameter"):
        ParameterTuple([Tensor([1.0])])


def test_cells_register_parameters_and_sub_cells():
    class Inner(nn.Cell):
        def __init__(self):
            super().__init__()
            self.w = Parameter(Tensor([1.0]), name="w")
            self.frozen = Parameter(Tensor([2.0]), name="frozen", requires_grad=False)

    class Outer(nn.Cell):
        def __init__(self):
            super().__init__()
            self.inner = Inner()
            self.b = Parameter(Tensor([0.0]))

    net = Outer()
    assert [name for name, _ in net.parameters_and_names()] == ["b", "inner.w", "inner.frozen"]
    # a sub-cell's Parameters take its attribute path as a prefix, as MindSpore's auto_prefix
    # names them (checkpoints and optimizer state use these names)
    assert [p.name for p in net.trainable_params()] == ["b", "inner.w"]
    assert net.b.name == "b"


def test_a_cell_must_call_super_init():
    class Forgetful(nn.Cell):
        def __init__(self):
            self.w = Parameter(Tensor([1.0]))

    with pytest.raises(AttributeError, match="call super\\(\\).__init__\\(\\)"):
        Forgetful()


def test_graph_mode_sees_changed_cell_attributes(mode):
    class Scaled(nn.Cell):
        def __init__(self):
            super().__init__()
            self.scale = 2.0

        def construct(self, x):
            return x * self.scale

    net = Scaled()
    np.testing.assert_allclose(net(Tensor([1.0])).asnumpy(), [2.0])
    net.scale = 5.0
    np.testing.assert_allclose(net(Tensor([1.0])).asnumpy(), [5.0])


def test_graph_and_pynative_modes_agree(mode):
    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.w = Parameter(Tensor(np.array([[0.5, -1.0], [2.0, 0.1]])), name="w")

        def construct(self, x):
            return ops.Softmax()(ops.tanh(ops.MatMul()(x, self.w)))

    x = Tensor(np.array([[1.0, 2.0], [3.0, -1.0]]))
    w = np.array([[0.5, -1.0], [2.0, 0.1]])
    hidden = np.tanh(np.array([[1.0, 2.0], [3.0, -1.0]]) @ w)
    expected = np.exp(hidden) / np.exp(hidden).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(Net()(x).asnumpy(), expected, rtol=1e-12)


def test_changing_an_attribute_drops_stale_compiled_graphs():
    from hograd import context

    class Scaled(nn.Cell):
        def __init__(self):
            super().__init__()
            self.scale = 1.0

        def construct(self, x):
            return x * self.scale

    context.set_context(mode=context.GRAPH_MODE)
    net = Scaled()
    for scale in (1.0, 2.0, 3.0):
        net.scale = scale
        np.testing.assert_allclose(net(Tensor([1.0])).asnumpy(), [scale])
    assert len(net._graphs) == 1


@pytest.mark.parametrize("index", [np.s_[::-1], np.s_[::-2], np.s_[2::-1], np.s_[-1:0:-1],
                                   np.s_[1:3], np.s_[:, ::-1], np.s_[..., 1::-1]])
def test_slices_match_numpy_and_their_gradients_scatter_back(index):
    data = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(Tensor(data)[index].asnumpy(), data[index])
    weights = np.arange(data[index].size, dtype=float).reshape(data[index].shape) + 1
    grad = ops.GradOperation()(lambda t: t[index] * Tensor(weights))(Tensor(data))
    expected = np.zeros_like(data)
    expected[index] = weights
    np.testing.assert_array_equal(grad.asnumpy(), expected)
