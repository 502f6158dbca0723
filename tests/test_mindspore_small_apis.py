"""The small MindSpore APIs programs and tests reach for: Print, TensorAdd, FloorDiv, jit,
mutable, no-op context settings, Cell flags and initializer, imported the MindSpore way."""
import numpy as np
import pytest

import hograd as ms
import hograd.common.dtype as mstype
import hograd.nn as nn
from hograd import Tensor, context, jit, mutable
from hograd.common.initializer import (HeUniform, Normal, One, Uniform, XavierUniform, Zero,
                                       initializer)
from hograd.ops import composite as C
from hograd.ops import operations as P

grad = C.GradOperation()


class PrintingProduct(nn.Cell):
    def __init__(self):
        super().__init__()
        self.print = P.Print()

    def construct(self, x, y):
        self.print("x:", x, "y:", y)
        return x * y


def test_print_prints_strings_and_tensors_on_every_run(mode, capsys):
    net = PrintingProduct()
    for _ in range(2):
        np.testing.assert_allclose(net(Tensor([1.0, 2.0]), Tensor([3.0, 4.0])).asnumpy(), [3, 8])
    lines = capsys.readouterr().out.splitlines()
    one_run = ["x:", "Tensor(shape=[2], dtype=Float32, value=[1. 2.])",
               "y:", "Tensor(shape=[2], dtype=Float32, value=[3. 4.])"]
    assert lines == one_run * 2        # graph mode: once per run, not again while tracing


def test_print_inside_a_gradient_prints_once_and_changes_no_derivative(mode, capsys):
    third = grad(grad(grad(lambda x: P.Print()("x", x) ** 3)))
    np.testing.assert_allclose(third(Tensor([2.0], mstype.float64)).asnumpy(), [6.0])
    assert capsys.readouterr().out.splitlines() == [
        "x", "Tensor(shape=[1], dtype=Float64, value=[2.])"]
    np.testing.assert_allclose(grad(PrintingProduct())(Tensor([1.0]), Tensor([3.0])).asnumpy(),
                               [3.0])


def test_print_of_strings_only_returns_an_int32_zero(mode, capsys):
    out = P.Print()("hello", 3)
    assert capsys.readouterr().out == "hello\n3\n"
    assert out.dtype == mstype.int32 and out.asnumpy() == 0


def test_tensor_add_is_add():
    assert P.TensorAdd()(Tensor([1.0]), Tensor([2.5])).asnumpy().tolist() == [3.5]


def test_floor_div_rounds_down_and_has_a_zero_derivative(mode):
    out = P.FloorDiv()(Tensor(np.array([7, -7], np.int32)), Tensor(np.array([2, 2], np.int32)))
    assert out.asnumpy().tolist() == [3, -4] and out.dtype == mstype.int32
    grads = C.GradOperation(get_all=True)(lambda x, y: P.FloorDiv()(x, y) + x)(
        Tensor([7.0]), Tensor([2.0]))
    assert [g.asnumpy().tolist() for g in grads] == [[1.0], [0.0]]


# ---- jit and mutable -------------------------------------------------------------------------
def test_jit_function_compiles_once_per_signature_and_differentiates(mode):
    calls = []

    @jit
    def f(x, y):
        calls.append(1)
        return ms.ops.sin(x) * y

    x, y = Tensor([0.5], mstype.float64), Tensor([2.0], mstype.float64)
    for _ in range(3):
        np.testing.assert_allclose(f(x, y).asnumpy(), [2 * np.sin(0.5)])
    assert len(calls) == 1                   # traced once, then the compiled graph runs
    np.testing.assert_allclose(grad(grad(f))(x, y).asnumpy(), [-2 * np.sin(0.5)])


def test_jit_with_mindspore_options_on_a_construct_and_on_a_cell_class(mode):
    class Square(nn.Cell):
        @jit(jit_level="O1")
        def construct(self, x):
            return x * x

    @jit
    class Cube(nn.Cell):
        def construct(self, x):
            return x * x * x

    x = Tensor([3.0])
    assert Square()(x).asnumpy().tolist() == [9.0]
    assert grad(Square())(x).asnumpy().tolist() == [6.0]
    assert grad(grad(Cube()))(x).asnumpy().tolist() == [18.0]


def test_mutable_returns_its_input():
    t = Tensor([1.0])
    assert mutable(t) is t
    assert mutable((1, 2), dynamic_len=True) == (1, 2)


# ---- context and Cell flags -----------------------------------------------------------------
def test_mindspore_context_settings_are_accepted_as_no_ops(mode):
    context.set_context(jit_level="O0", save_graphs=False, max_call_depth=10000,
                        pynative_synchronize=True, device_id=0, jit_config={"jit_level": "O0"})
    assert context.get_context("max_call_depth") == 10000
    ms.set_context(mode=ms.PYNATIVE_MODE)
    assert ms.get_context("mode") == context.PYNATIVE_MODE


def test_cell_flags_mindspore_code_sets_are_harmless(mode):
    net = PrintingProduct()
    assert net.set_grad() is net
    net.add_flags_recursive(fp16=False)
    net.add_flags(defer_inline=True)
    assert net.get_flags()["defer_inline"] is True
    assert net.init_parameters_data() is net


# ---- dtypes and initializer ------------------------------------------------------------------
def test_dtypes_are_at_the_top_level_as_in_mindspore():
    assert ms.float32 is mstype.float32 is ms.dtype.float32
    assert (ms.float16, ms.float64, ms.int32, ms.int64, ms.bool_) == (
        mstype.float16, mstype.float64, mstype.int32, mstype.int64, mstype.bool_)


def test_initializer_constants_and_shapes():
    assert initializer("zeros", (2, 3)).asnumpy().tolist() == [[0.0] * 3] * 2
    assert initializer(One(), [2], mstype.float64).dtype == mstype.float64
    assert initializer(1, (2, 2), mstype.float32).asnumpy().tolist() == [[1.0, 1.0]] * 2
    assert initializer(Zero(), 3).shape == (3,)
    with pytest.raises(ValueError, match="unknown scheme 'zeroes'"):
        initializer("zeroes", (2,))


def test_random_initializers_have_their_documented_spread():
    ms.set_seed(7)
    normal = initializer(Normal(sigma=0.5, mean=1.0), (200, 200), mstype.float64).asnumpy()
    assert abs(normal.mean() - 1.0) < 0.01 and abs(normal.std() - 0.5) < 0.01
    uniform = initializer(Uniform(scale=0.2), (100, 100)).asnumpy()
    assert uniform.min() >= -0.2 and uniform.max() <= 0.2 and uniform.max() > 0.19
    xavier = initializer(XavierUniform(), (30, 20)).asnumpy()
    bound = np.sqrt(6.0 / (20 + 30))
    assert np.abs(xavier).max() <= bound and np.abs(xavier).max() > 0.95 * bound
    he = initializer(HeUniform(), (30, 20)).asnumpy()            # relu gain √2, fan_in 20
    assert np.abs(he).max() <= np.sqrt(6.0 / 20) and np.abs(he).max() > 0.95 * np.sqrt(6.0 / 20)
    ms.set_seed(7)
    again = initializer(Normal(sigma=0.5, mean=1.0), (200, 200), mstype.float64).asnumpy()
    np.testing.assert_array_equal(again, normal)


# ---- MultitypeFuncGraph and HyperMap -------------------------------------------------------------
def test_hyper_map_applies_a_multitype_function_across_tuples(mode):
    scale = C.MultitypeFuncGraph("scale")

    @scale.register("Number", "Tensor")
    def _(factor, x):
        return x * factor

    @scale.register("Number", "Number")
    def _(factor, x):
        return x * factor * 10

    class Scaled(nn.Cell):
        def construct(self, xs):
            return C.HyperMap()(scale, (2.0, 2.0, (2.0,)), xs)

    out = Scaled()((Tensor([1.0]), 3, (Tensor([4.0]),)))
    assert out[0].asnumpy().tolist() == [2.0] and out[1] == 60.0
    assert out[2][0].asnumpy().tolist() == [8.0]
    with pytest.raises(TypeError, match="'scale' has no function for arguments \\(str, str\\)"):
        scale("a", "b")
    gradient = grad(lambda x: C.HyperMap(scale)((3.0,), (x,))[0] ** 2)(Tensor([1.0]))
    assert gradient.asnumpy().tolist() == [18.0]
