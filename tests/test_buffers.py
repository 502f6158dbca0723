"""The memory plan (core/buffers.py): kept buffers, never shared by live values, never leaked
to the caller, and the CPU kernels that write into them."""
import threading

import numpy as np
import pytest

import hograd
from hograd import Parameter, Tensor, nn, ops
from hograd import dtype as mstype
from hograd.core.buffers import plan_buffers
from hograd.core.executor import Executable
from hograd.core.ir import AbstractValue, Graph, Node, Var
from hograd.core.registry import registry
from hograd.devices.array_kernels import kernels_for
from hograd.devices.writing_kernels import writing_kernels

F64 = AbstractValue((4, 3), mstype.float64)


def graph_of(build, input_aval=F64):
    """A graph of one float64 input ((4, 3) unless said) from ``build(x, node)``,
    ``node(op, *inputs, aval=…, **attrs)`` recording a node (of the input's aval unless said)
    and returning its variable."""
    x = Var(input_aval)
    nodes = []

    def node(op, *inputs, aval=input_aval, **attrs):
        out = Var(aval)
        nodes.append(Node(op, tuple(inputs), tuple(sorted(attrs.items())), out))
        return out

    outputs = build(x, node)
    return Graph((x,), tuple(nodes), tuple(outputs))


def run_twice(graph, first, second):
    """The executable's results for two inputs, the first call's read after the second ran."""
    executable = Executable(graph, registry().device("cpu"))
    one = executable([first])
    two = executable([second])
    return executable, one, two


def test_a_steady_call_writes_into_the_buffers_of_the_first():
    def build(x, node):
        a = node("Mul", x, x)
        b = node("Sin", a)
        c = node("Add", b, x)
        return [node("ReduceSum", c, aval=AbstractValue((), mstype.float64), axis=None,
                     keep_dims=False)]

    graph = graph_of(build)
    executable = Executable(graph, registry().device("cpu"))
    assert executable._n_buffers == 2   # c takes a's buffer, free once b has read a
    rng = np.random.default_rng(0)
    kept = None
    for _ in range(3):
        x = rng.standard_normal((4, 3))
        np.testing.assert_allclose(executable([x])[0], np.sum(np.sin(x * x) + x), rtol=1e-14)
        buffers, _ = executable._buffer_sets[0]
        assert kept is None or all(b is k for b, k in zip(buffers, kept))
        kept = list(buffers)


def test_a_view_keeps_its_base_buffer_busy():
    # Reshape may return a view of a's buffer: b, written after a's own last reader, must not
    # take that buffer while the view is still to be read
    def build(x, node):
        a = node("Mul", x, x)
        view = node("Reshape", a, aval=AbstractValue((12,), mstype.float64), shape=(12,))
        b = node("Add", x, x)
        back = node("Reshape", view, shape=(4, 3))
        return [node("Mul", back, b)]

    graph = graph_of(build)
    rng = np.random.default_rng(1)
    x1, x2 = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    _, one, two = run_twice(graph, x1, x2)
    np.testing.assert_allclose(one[0], x1 * x1 * (x1 + x1), rtol=1e-14)
    np.testing.assert_allclose(two[0], x2 * x2 * (x2 + x2), rtol=1e-14)


def test_outputs_and_their_views_are_new_arrays_each_call():
    def build(x, node):
        a = node("Mul", x, x)
        return [node("Reshape", a, aval=AbstractValue((12,), mstype.float64), shape=(12,)),
                node("Exp", x)]

    graph = graph_of(build)
    x1, x2 = np.full((4, 3), 2.0), np.full((4, 3), 3.0)
    _, one, two = run_twice(graph, x1, x2)
    np.testing.assert_array_equal(one[0], np.full(12, 4.0))      # not overwritten by call two
    np.testing.assert_array_equal(one[1], np.exp(x1))
    np.testing.assert_array_equal(two[0], np.full(12, 9.0))


def test_plan_never_gives_one_buffer_to_two_live_values():
    rng = np.random.default_rng(2)
    shapes = [(4, 3), (3,), (4, 3)]
    for trial in range(200):
        nodes, live = [], [Var(AbstractValue((4, 3), mstype.float64))]
        for _ in range(12):
            inputs = tuple(rng.choice(live, size=int(rng.integers(1, 3))))
            op = "Mul" if rng.random() < 0.7 else "Reshape"
            shape = shapes[int(rng.integers(len(shapes)))]
            out = Var(AbstractValue(shape, mstype.float64))
            nodes.append(Node(op, inputs, (), out))
            live.append(out)
        assignment, _ = plan_buffers(nodes, [nodes[-1].out],
                                     writes_into=lambda n: n.op == "Mul",
                                     keeps_inputs=lambda n: False)
        views = {}
        for node in nodes:
            views[node.out] = ({node.out} if node.op == "Mul" else
                               set().union(*(views.get(v, set()) for v in node.inputs)))
        last = {}
        for position, node in enumerate(nodes):
            for var in node.inputs:
                for base in views.get(var, ()):
                    last[base] = position
        for i, a in enumerate(nodes):
            for j, b in enumerate(nodes[i + 1:], start=i + 1):
                if assignment[i] is not None and assignment[i] == assignment[j]:
                    assert last.get(a.out, i) < j, (trial, i, j)
                    assert a.out.aval == b.out.aval
        assert assignment[-1] is None or views[nodes[-1].out] != {nodes[-1].out}


def test_an_assigned_value_is_not_overwritten_by_a_later_call():
    hograd.set_context(mode=hograd.GRAPH_MODE)

    class Doubling(nn.Cell):
        def __init__(self):
            super().__init__()
            self.p = Parameter(Tensor(np.ones(3)), name="p")

        def construct(self, x):
            ops.assign(self.p, self.p * x)
            return ops.sin(x) * x

    cell = Doubling()
    try:
        cell(Tensor(np.full(3, 2.0)))
        cell(Tensor(np.full(3, 3.0)))
        cell(Tensor(np.full(3, 5.0)))
    finally:
        hograd.set_context(mode=hograd.PYNATIVE_MODE)
    np.testing.assert_array_equal(cell.p.asnumpy(), np.full(3, 30.0))


def test_concurrent_calls_do_not_share_buffers():
    def build(x, node):
        a = node("Mul", x, x)
        b = node("Tanh", a)
        return [node("Mul", b, x)]

    # large enough that numpy lets go of the GIL inside each kernel
    executable = Executable(graph_of(build, AbstractValue((256, 256), mstype.float64)),
                            registry().device("cpu"))
    failures = []

    def worker(value):
        x = np.full((256, 256), value)
        for _ in range(100):
            if not np.array_equal(executable([x])[0], np.tanh(x * x) * x):
                failures.append(value)
                return

    threads = [threading.Thread(target=worker, args=(v,)) for v in (0.5, 1.5, 2.5, 3.5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


SAMPLES = {"MatMul": [dict(transpose_a=False, transpose_b=False),
                      dict(transpose_a=True, transpose_b=True)],
           "Cast": [dict(dtype=mstype.float32), dict(dtype=mstype.int32)],
           "ReduceSum": [dict(axis=0, keep_dims=True), dict(axis=None, keep_dims=False),
                         dict(axis=(0, 1), keep_dims=False)]}


@pytest.mark.parametrize("op", sorted(writing_kernels(np)))
def test_writing_kernels_compute_what_the_standard_kernels_do(op):
    standard, writing = kernels_for(np)[op], writing_kernels(np)[op]
    rng = np.random.default_rng(3)
    arity = registry().op(op).inputs
    attr_sets = SAMPLES.get(op, [{}])
    if op == "Fill":
        attr_sets = [dict(dtype=mstype.float64, shape=(2, 3), value=1.5),
                     dict(dtype=mstype.int32, shape=(), value=2)]
    shapes = [[(3, 3)] * len(arity), [()] * len(arity)]
    if len(arity) == 2:
        shapes.append([(3, 1), (1, 3)])
    if op == "Gather":
        shapes = [[(4, 3, 2), (5,)], [(4, 3), (2, 2)]]
        attr_sets = [dict(axis=1), dict(axis=-1)]
    if op == "Select":
        shapes = [[(3, 3)] * 3, [(3, 1), (1, 3), ()]]
    if op == "BatchMatMul":
        # one matrix against a batch (the side-by-side product), a batch against one, batches
        shapes = [[(3, 3), (4, 3, 3)], [(4, 3, 3), (3, 3)], [(4, 3, 3), (4, 3, 3)]]
        attr_sets = SAMPLES["MatMul"]
    for attrs in attr_sets:
        for input_shapes in (shapes if arity else [[]]):
            if input_shapes and input_shapes[0] == () and (
                    op == "MatMul" or attrs.get("axis") not in (None, ())):
                continue   # no such call: a matrix product or an axis of a scalar
            low, high = registry().op(op).domain
            arrays = [rng.uniform(low, high, shape) for shape in input_shapes]
            if op == "Gather":
                arrays[1] = rng.integers(-2, 2, input_shapes[1])
            if op == "Select":
                arrays[0] = arrays[0] > (low + high) / 2
            expected = standard(*arrays, **attrs)
            fresh = writing(*arrays, **attrs)
            assert isinstance(fresh, np.ndarray) and fresh.dtype == expected.dtype
            np.testing.assert_allclose(fresh, expected, rtol=1e-14)
            out = np.full(expected.shape, 7, dtype=expected.dtype)
            assert writing(*arrays, out=out, **attrs) is out
            np.testing.assert_allclose(out, expected, rtol=1e-14)


def test_bool_sums_count_into_int64_buffers():
    flags = np.array([[True, False], [True, True]])
    out = np.zeros(2, dtype=np.int64)
    writing_kernels(np)["ReduceSum"](flags, out=out, axis=0, keep_dims=False)
    np.testing.assert_array_equal(out, [2, 1])


@pytest.mark.parametrize("shape,axis", [((256, 64), 0), ((4, 2048, 3), -1), ((4, 2048, 8), (0, 1)),
                                        ((4, 64, 32, 8), 2), ((3, 5, 40), 1),
                                        ((2, 1), 0), ((2, 1), 1), ((5, 1, 2), -1),
                                        ((4, 5, 6), (1, 2)), ((4, 5, 6), 1), ((4, 5, 6), (0, 2))])
@pytest.mark.parametrize("keep_dims", [False, True])
def test_sums_through_a_product_with_ones_equal_numpy_sums(shape, axis, keep_dims):
    kernel = registry().kernel("ReduceSum", "cpu")
    x = np.random.default_rng(4).standard_normal(shape)
    expected = np.sum(x, axis=axis, keepdims=keep_dims)
    for array in (x, np.asfortranarray(x)):       # a layout that is not a product's
        np.testing.assert_allclose(kernel(array, axis=axis, keep_dims=keep_dims), expected,
                                   rtol=1e-13, atol=1e-13)
        out = np.empty(expected.shape)
        assert kernel(array, out=out, axis=axis, keep_dims=keep_dims) is out
        np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-13)


def test_long_float32_sums_stay_pairwise():
    # a sequential float32 sum of 10⁶ terms drifts; numpy's pairwise one does not
    x = np.full((10 ** 6, 2), 0.1, dtype=np.float32)
    summed = registry().kernel("ReduceSum", "cpu")(x, axis=0, keep_dims=False)
    np.testing.assert_array_equal(summed, np.sum(x, axis=0))


def test_the_cap_on_kept_bytes_counts_buffers_not_values(monkeypatch):
    # ten (4, 3) float64 values (960 bytes) live in two buffers (192 bytes)
    def build(x, node):
        value = x
        for _ in range(10):
            value = node("Mul", value, x)
        return [node("ReduceSum", value, aval=AbstractValue((), mstype.float64), axis=None,
                     keep_dims=False)]

    import hograd.core.executor as executor
    monkeypatch.setattr(executor, "KEPT_BUFFER_BYTES", 500)
    kept = Executable(graph_of(build), registry().device("cpu"))
    monkeypatch.setattr(executor, "KEPT_BUFFER_BYTES", 100)
    dropped = Executable(graph_of(build), registry().device("cpu"))
    x = np.full((4, 3), 1.1)
    for executable in (kept, dropped):
        np.testing.assert_allclose(executable([x])[0], 12 * 1.1 ** 11, rtol=1e-14)
    assert len(kept._buffer_sets) == 1 and not dropped._buffer_sets
