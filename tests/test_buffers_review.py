"""Review findings on the memory plan and the CPU's writing kernels: each a wrong number (or a
crash) the kept buffers, the sums as products or the cached sorts of Gather's adjoint gave."""
import shutil
import subprocess

import numpy as np
import pytest

import hograd
from hograd import Parameter, Tensor, nn, ops
from hograd import dtype as mstype
from hograd.core.executor import Executable
from hograd.core.ir import AbstractValue, Graph, Node, Var
from hograd.core.registry import registry
from hograd.devices.array_kernels import kernels_for


def test_an_f_ordered_first_result_does_not_become_a_buffer_a_sum_writes_through():
    # exp(x) of an F-ordered x is F-ordered; kept as the buffer that (y·b).sum(-1) then
    # shares, the sum's product wrote into a reshaped copy of it and the sum was lost
    @hograd.jit
    def f(x, y):
        b = ops.exp(x).sum()
        s = (y * b).sum(-1)
        return (s * s).sum()

    rng = np.random.default_rng(0)
    for _ in range(3):
        x, y = rng.standard_normal((4, 3)).T, rng.standard_normal((3, 4, 5))
        expected = (((y * np.exp(x).sum()).sum(-1)) ** 2).sum()
        np.testing.assert_allclose(f(Tensor(x), Tensor(y)).asnumpy(), expected, rtol=1e-12)


def test_kept_buffers_are_c_contiguous():
    x, y = Var(AbstractValue((4, 3), mstype.float64)), Var(AbstractValue((3, 4, 5), mstype.float64))
    nodes = []

    def node(op, *inputs, shape, **attrs):
        out = Var(AbstractValue(shape, mstype.float64))
        nodes.append(Node(op, inputs, tuple(sorted(attrs.items())), out))
        return out

    a = node("Exp", node("Transpose", x, shape=(3, 4), perm=(1, 0)), shape=(3, 4))
    total = node("ReduceSum", a, shape=(), axis=None, keep_dims=False)
    s = node("ReduceSum", y, shape=(3, 4), axis=(2,), keep_dims=False)
    out = node("Add", total, node("ReduceSum", node("Mul", s, s, shape=(3, 4)), shape=(),
                                  axis=None, keep_dims=False), shape=())
    executable = Executable(Graph((x, y), tuple(nodes), (out,)), registry().device("cpu"))
    rng = np.random.default_rng(1)
    for _ in range(3):
        xv, yv = rng.standard_normal((4, 3)), rng.standard_normal((3, 4, 5))
        np.testing.assert_allclose(executable([xv, yv])[0],
                                   np.exp(xv.T).sum() + (yv.sum(-1) ** 2).sum(), rtol=1e-12)
    assert all(b.flags.c_contiguous for b in executable._buffer_sets[0][0])


@pytest.mark.parametrize("op, arrays, attrs", [
    ("ReduceSum", [np.arange(24.0).reshape(2, 3, 4)], dict(axis=2, keep_dims=False)),
    ("ReduceSum", [np.arange(60.0).reshape(3, 5, 4)], dict(axis=1, keep_dims=False)),
    ("ReduceSum", [np.arange(24.0).reshape(4, 3, 2)], dict(axis=0, keep_dims=False)),
    ("Gather", [np.arange(12.0).reshape(4, 3), np.array([[0, -1], [2, 1]])], dict(axis=0)),
])
def test_writing_kernels_fill_an_out_of_any_layout(op, arrays, attrs):
    expected = kernels_for(np)[op](*arrays, **attrs)
    out = np.full(expected.shape, 7.0, order="F")
    assert not out.flags.c_contiguous
    assert registry().kernel(op, "cpu")(*arrays, out=out, **attrs) is out
    np.testing.assert_array_equal(out, expected)


def test_one_index_constant_gathered_from_axes_of_different_lengths():
    # the adjoint's sorted runs were cached by the index array alone; negative indices wrap by
    # the axis length, so the second gather's gradient took the first one's rows
    def loss(p, q):
        index = Tensor(np.array([-1, 0, -1], dtype=np.int32))
        return ops.gather(p, index, 0).sum() + 10 * ops.gather(q, index, 0).sum()

    grad = ops.GradOperation(get_all=True)(loss)
    for dp, dq in [grad(Tensor(np.zeros(7)), Tensor(np.zeros(5))),
                   grad(Tensor(np.zeros(5)), Tensor(np.zeros(7)))]:
        expected = lambda n, w: np.eye(n)[0] * w + np.eye(n)[-1] * 2 * w  # noqa: E731
        np.testing.assert_array_equal(dp.asnumpy(), expected(dp.shape[0], 1))
        np.testing.assert_array_equal(dq.asnumpy(), expected(dq.shape[0], 10))


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_sums_over_middle_axes_keep_an_inf_or_nan_to_its_column(bad):
    # the product with stacked identities met inf or NaN with its zeros: NaN in every column
    x = np.ones((2, 3, 4))
    x[0, 1, 2] = bad
    kernel = registry().kernel("ReduceSum", "cpu")
    np.testing.assert_array_equal(kernel(x, axis=1, keep_dims=False), np.sum(x, axis=1))
    out = np.empty((2, 4))
    kernel(x, out=out, axis=1, keep_dims=False)
    np.testing.assert_array_equal(out, np.sum(x, axis=1))
    compiled = hograd.jit(lambda t: ops.ReduceSum()(t * 1.0, 1))
    np.testing.assert_array_equal(compiled(Tensor(x)).asnumpy(), np.sum(x, axis=1))


def test_a_cell_with_bprop_assigning_its_input_does_not_leave_a_buffer_in_the_parameter():
    class Store(nn.Cell):
        def __init__(self):
            super().__init__()
            self.p = Parameter(Tensor(np.zeros(3)), name="p")

        def construct(self, x):
            ops.assign(self.p, x)
            return x * 2

        def bprop(self, x, out, dout):
            return (dout * 2,)

    class Outer(nn.Cell):
        def __init__(self):
            super().__init__()
            self.store = Store()

        def construct(self, y):
            z = self.store(ops.exp(y))              # exp(y) stored in p by the CellCall
            return ops.reduce_sum(ops.sin(z) * 3)   # a later value of exp(y)'s shape

    hograd.set_context(mode=hograd.GRAPH_MODE)
    try:
        net = Outer()
        net(Tensor(np.zeros(3)))
        np.testing.assert_array_equal(net.store.p.asnumpy(), np.ones(3))
        held = net.store.p._data
        net(Tensor(np.ones(3)))
    finally:
        hograd.set_context(mode=hograd.PYNATIVE_MODE)
    np.testing.assert_allclose(net.store.p.asnumpy(), np.full(3, np.e), rtol=1e-15)
    np.testing.assert_array_equal(held, np.ones(3))     # not a buffer the next call wrote


@pytest.mark.skipif(shutil.which("g++") is None, reason="no C++ compiler")
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
@pytest.mark.parametrize("dtype", [mstype.float32, mstype.float64])
def test_cuda_rendering_of_an_infinite_or_nan_constant_compiles(value, dtype, tmp_path):
    from hograd.core.device import Fuser
    from hograd.core.fusion import FUNCTIONS, evaluator, fuse
    from hograd.devices.gpu.fusion import c_expression, c_types
    reg = registry()
    a, b = AbstractValue((4, 3), dtype), AbstractValue((4, 3), mstype.bool_)
    x, fill, cond, chosen, out = Var(a), Var(a), Var(b), Var(a), Var(a)
    nodes = [Node("Fill", (), (("dtype", dtype), ("shape", (4, 3)), ("value", value)), fill),
             Node("Greater", (x, x), (), cond), Node("Select", (cond, x, fill), (), chosen),
             Node("Exp", (chosen,), (), out)]
    _, groups = fuse(nodes, [out], lambda n: reg.op(n.op).elementwise,
                     Fuser(compile=evaluator(np), functions=frozenset(FUNCTIONS)))
    (expression,) = groups.values()
    (input_type,), result_type = c_types(expression)
    source = tmp_path / "k.cpp"
    source.write_text(f"#include <cmath>\nusing namespace std;\n{result_type} f({input_type} in0) "
                      f"{{ return {c_expression(expression)}; }}\n")
    subprocess.run(["g++", "-c", "-o", str(tmp_path / "k.o"), str(source)], check=True)
