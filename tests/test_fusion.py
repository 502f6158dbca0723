"""Fusing elementwise chains (core/fusion.py): every op's template means what its kernel
computes, fused runs equal unfused ones, groups follow their rules, and the GPU's CUDA
rendering computes the template's value (compiled here as C++ where a compiler exists)."""
import ctypes
import itertools
import shutil
import subprocess

import numpy as np
import pytest

import hograd
from hograd import Parameter, Tensor, nn, ops
from hograd import dtype as mstype
from hograd.core.device import Fuser
from hograd.core.executor import Executable
from hograd.core.fusion import (FUNCTIONS, FusedExpression, evaluator, fuse, instantiate,
                                parse, template_functions)
from hograd.core.ir import AbstractValue, Graph, Node, Var
from hograd.core.registry import registry
from hograd.core.staging import stage
from hograd.devices.gpu.fusion import c_expression, c_types

TEMPLATED = sorted(name for name, op in registry().ops.items()
                   if op.elementwise is not None and op.name == name)


# attributes of the templated ops that take some
ATTRIBUTES = {"BroadcastTo": {"shape": (2, 3, 4)}}


def template_expression(op, avals):
    """The op's template as a FusedExpression of its inputs ``in0``, ``in1``, …"""
    import ast
    opdef = registry().op(op)
    names = {name: ast.Name(f"in{i}", ast.Load()) for i, name in enumerate(opdef.inputs)}
    tree = ast.fix_missing_locations(instantiate(opdef.elementwise, names))
    out = registry().op(op).infer(*avals, **ATTRIBUTES.get(op, {}))
    return FusedExpression(tree, tuple(avals), out, 1)


def samples(op, dtype):
    rng = np.random.default_rng(0)
    opdef = registry().op(op)
    low, high = opdef.domain
    arrays = []
    for name in opdef.inputs:
        if name == "condition":
            arrays.append(rng.random((3, 4)) < 0.5)
        else:
            arrays.append(rng.uniform(low, high, (3, 4)).astype(dtype))
    if op == "ReLU":
        arrays[0][0, :3] = [np.nan, -np.inf, np.inf]
    return arrays


def avals_of(arrays):
    return [AbstractValue(a.shape, mstype.from_numpy(a.dtype)) for a in arrays]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("op", [op for op in TEMPLATED if op != "Fill"])
def test_each_template_computes_what_the_kernel_does(op, dtype):
    arrays = samples(op, dtype)
    expected = registry().kernel(op, "cpu")(*arrays, **ATTRIBUTES.get(op, {}))
    got = evaluator(np)(template_expression(op, avals_of(arrays)))(*arrays)
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-6 if dtype == np.float32 else 1e-14)


def fused_cpu(functions=frozenset(FUNCTIONS)):
    """The cpu device with the reference fuser: fused runs with the CPU's kernels."""
    cpu = registry().device("cpu")
    return cpu.model_copy(update={"fuser": Fuser(compile=evaluator(np), functions=functions,
                                                 reductions=frozenset({"sum"}))})


class MLP(nn.Cell):
    def __init__(self, dtype=np.float64):
        super().__init__()
        rng = np.random.default_rng(0)
        self.w1 = Parameter(Tensor((rng.standard_normal((2, 16)) * 0.5).astype(dtype)), name="w1")
        self.b1 = Parameter(Tensor((rng.standard_normal(16) * 0.1).astype(dtype)), name="b1")
        self.w2 = Parameter(Tensor((rng.standard_normal((16, 1)) * 0.3).astype(dtype)), name="w2")

    def construct(self, x):
        return ops.matmul(ops.sigmoid(ops.matmul(x, self.w1) + self.b1), self.w2)


def workloads(dtype=np.float64):
    G = ops.GradOperation()
    fourth = G(G(G(G(lambda x: ops.sin(x) * ops.exp(x)))))
    net = MLP(dtype)
    laplacian = hograd.laplacian(net)
    step = ops.GradOperation(get_by_list=True)(
        lambda x: ops.reduce_mean(ops.square(laplacian(x))), net.trainable_params())
    rng = np.random.default_rng(1)
    return [(fourth, [Tensor(np.linspace(-2, 2, 50).astype(dtype))]),
            (lambda x: laplacian(x), [Tensor(rng.uniform(-1, 1, (32, 2)).astype(dtype))]),
            (lambda x: step(x), [Tensor(rng.uniform(-1, 1, (32, 2)).astype(dtype))]),
            (lambda x: ops.relu(x) * ops.tanh(x) - ops.abs(x) / (ops.square(x) + 1.0),
             [Tensor(np.array([-1.5, -0.0, 0.0, 2.0, np.nan]).astype(dtype))])]


def fusing_devices():
    """The cpu with the reference fuser, and every present device with a fuser of its own
    (the GPU's cupy kernels where a GPU is present)."""
    devices = [("cpu+reference", fused_cpu())]
    for name, device in sorted(registry().devices.items()):
        if device.present and device.fuser is not None:
            # the workloads are small: fuse them whatever their size
            fuser = device.fuser.model_copy(update={"min_size": 0})
            devices.append((name, device.model_copy(update={"fuser": fuser})))
    return devices


@pytest.mark.parametrize("index", range(4))
@pytest.mark.parametrize("label, device", fusing_devices(), ids=lambda v: getattr(v, "name", v))
def test_fused_runs_equal_unfused_runs(index, label, device):
    fn, args = workloads()[index]
    staged = stage(fn, args)
    arrays = [device.to_device(a) for a in
              [a.asnumpy() for a in args] + [np.asarray(c.asnumpy()) for c in staged.captured]]
    plain = Executable(staged.graph, device.model_copy(update={"fuser": None}))
    fused = Executable(staged.graph, device)
    assert fused.wait_for_fusion(timeout=120)
    assert len(fused._steps) < len(plain._steps)
    if index == 2:
        # the PINN step's weight gradient: a column sum of a product, summed in its group
        _, groups = fuse(fused._nodes, staged.graph.outputs,
                         lambda n: registry().op(n.op).elementwise, device.fuser,
                         lambda n: registry().op(n.op).fused_reduction)
        assert any(e.reduce_axes for e in groups.values()) == ("sum" in device.fuser.reductions)
    for _ in range(2):   # the second run writes into kept buffers
        for a, b in zip(plain(arrays), fused(arrays)):
            np.testing.assert_allclose(device.to_host(b), device.to_host(a), rtol=1e-12,
                                       atol=1e-14)


def chain(build):
    x, y = Var(AbstractValue((4, 3), mstype.float64)), Var(AbstractValue((3,), mstype.float64))
    nodes = []

    def node(op, *inputs, shape=(4, 3), dtype=mstype.float64, **attrs):
        out = Var(AbstractValue(shape, dtype))
        nodes.append(Node(op, inputs, tuple(sorted(attrs.items())), out))
        return out

    outputs = build(x, y, node)
    return nodes, outputs


def fused_groups(nodes, outputs, functions=frozenset(FUNCTIONS), reductions=frozenset()):
    fuser = Fuser(compile=evaluator(np), functions=functions, reductions=reductions)
    return fuse(nodes, outputs, lambda n: registry().op(n.op).elementwise, fuser,
                lambda n: registry().op(n.op).fused_reduction)


def test_a_chain_becomes_one_group_of_its_leaves():
    def build(x, y, node):
        a = node("Mul", x, y)
        b = node("Sin", a)
        return [node("Add", b, x)]

    nodes, expressions = fused_groups(*chain(build))
    assert [n.op for n in nodes] == ["Fused"]
    (expression,) = expressions.values()
    assert expression.text == "sin(in0 * in1) + in0" and expression.ops == 3


def test_a_value_read_twice_or_returned_is_kept_not_recomputed():
    def build(x, y, node):
        shared = node("Exp", x)
        a = node("Mul", shared, shared)
        returned = node("Neg", a)
        return [returned, node("Add", returned, x)]

    nodes, _ = fused_groups(*chain(build))
    assert [n.op for n in nodes] == ["Exp", "Fused", "Add"]


def test_a_smaller_value_is_not_folded_into_a_larger_one():
    # folding y's (3,) sine into a (4, 3) product would compute it 4 times
    def build(x, y, node):
        small = node("Sin", y, shape=(3,))
        return [node("Neg", node("Mul", x, small))]

    nodes, _ = fused_groups(*chain(build))
    assert [n.op for n in nodes] == ["Sin", "Fused"]


def test_functions_the_device_lacks_stay_unfused():
    def build(x, y, node):
        return [node("Neg", node("Tanh", node("Mul", x, x)))]

    nodes, expressions = fused_groups(*chain(build), functions=frozenset({"sin"}))
    assert [n.op for n in nodes] == ["Mul", "Tanh", "Neg"] and not expressions


def test_a_sum_that_is_the_only_reader_of_a_chain_ends_its_group():
    def build(x, y, node):
        product = node("Mul", node("Sin", x), y)
        return [node("ReduceSum", product, shape=(1, 3), axis=0, keep_dims=True)]

    nodes, expressions = fused_groups(*chain(build), reductions=frozenset({"sum"}))
    assert [n.op for n in nodes] == ["Fused"]
    (expression,) = expressions.values()
    assert (expression.reduce_axes, expression.shape, expression.out.shape) == ((0,), (4, 3),
                                                                                (1, 3))
    assert expression.ops == 3 and expression.text.startswith("sum(sin(in0) * in1")
    x, y = np.random.default_rng(4).standard_normal((2, 4, 3))
    np.testing.assert_allclose(evaluator(np)(expression)(x, y[0]),
                               (np.sin(x) * y[0]).sum(axis=0, keepdims=True), rtol=1e-15)


def test_a_sum_stays_its_own_node_where_it_cannot_end_a_group():
    def read_twice(x, y, node):
        product = node("Mul", x, x)
        return [node("ReduceSum", product, shape=(3,), axis=0), node("Neg", product)]

    def counting(x, y, node):
        flags = node("Greater", x, y, dtype=mstype.bool_)
        return [node("ReduceSum", flags, shape=(3,), dtype=mstype.int64, axis=0)]

    def plain(x, y, node):
        return [node("ReduceSum", node("Mul", x, y), shape=(3,), axis=0)]

    for build, reductions, ops in [(read_twice, {"sum"}, ["Mul", "ReduceSum", "Neg"]),
                                   (counting, {"sum"}, ["Greater", "ReduceSum"]),
                                   (plain, set(), ["Mul", "ReduceSum"])]:
        nodes, _ = fused_groups(*chain(build), reductions=frozenset(reductions))
        assert [n.op for n in nodes] == ops, build.__name__


def test_templates_outside_the_language_are_refused():
    from hograd.core.opdef import OpDef
    with pytest.raises(ValueError, match="erf"):
        OpDef(name="Erfish", inputs=("x",), infer=lambda x: x, backward=(None,),
              elementwise="erf(x)")
    with pytest.raises(ValueError, match="Attribute"):
        OpDef(name="Sneaky", inputs=("x",), infer=lambda x: x, backward=(None,),
              elementwise="x.__class__")


# ---- the GPU's CUDA rendering, compiled as C++ ------------------------------------------------
COMPILER = shutil.which("g++")
_builds = itertools.count()


def run_as_cpp(expression, arrays, tmp_path):
    """Evaluate the CUDA body of ``expression`` elementwise as C++ (CUDA's math functions are
    C++'s overloads of the same names)."""
    inputs, result = c_types(expression)
    params = ", ".join(f"const {t}* p{i}" for i, t in enumerate(inputs))
    loads = "".join(f"{t} in{i} = p{i}[k]; " for i, t in enumerate(inputs))
    source = (f"#include <cmath>\nusing namespace std;\n"
              f'extern "C" void run({params}, {result}* out, long n) {{\n'
              f"  for (long k = 0; k < n; ++k) {{ {loads}out[k] = {c_expression(expression)}; }}\n}}\n")
    # a new file name each time: dlopen hands back an already loaded library of the same path
    stem = tmp_path / f"k{next(_builds)}"
    stem.with_suffix(".cpp").write_text(source)
    subprocess.run([COMPILER, "-O1", "-shared", "-fPIC", "-o", str(stem.with_suffix(".so")),
                    str(stem.with_suffix(".cpp"))], check=True)
    library = ctypes.CDLL(str(stem.with_suffix(".so")))
    shape = expression.out.shape
    flat = [np.ascontiguousarray(np.broadcast_to(a, shape)) for a in arrays]
    out = np.empty(shape, dtype=expression.out.dtype.name)
    library.run(*[a.ctypes.data_as(ctypes.c_void_p) for a in flat],
                out.ctypes.data_as(ctypes.c_void_p), ctypes.c_long(out.size))
    return out


@pytest.mark.skipif(COMPILER is None, reason="no C++ compiler to build the rendering with")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cuda_rendering_of_derivative_groups_computes_their_value(dtype, tmp_path):
    # every group of the workloads above, and every op's template, rendered and run
    expressions = []
    for fn, args in workloads(dtype):
        graph = stage(fn, args).graph
        nodes = [n for n in graph.nodes if n.op != "Constant"]
        _, found = fused_groups(nodes, graph.outputs)
        expressions += [e for e in found.values() if e.out.dtype.name == np.dtype(dtype).name]
    assert expressions
    rng = np.random.default_rng(2)
    for expression in expressions[:12]:
        arrays = [rng.uniform(0.3, 1.5, a.shape).astype(a.dtype.name) if a.dtype.is_float
                  else rng.random(a.shape) < 0.5 for a in expression.inputs]
        expected = evaluator(np)(expression)(*arrays)
        got = run_as_cpp(expression, arrays, tmp_path)
        np.testing.assert_allclose(got, expected, rtol=1e-5 if dtype == np.float32 else 1e-13)
    for op in TEMPLATED:
        if op == "Fill":
            continue
        arrays = samples(op, dtype)
        expression = template_expression(op, avals_of(arrays))
        np.testing.assert_allclose(run_as_cpp(expression, arrays, tmp_path),
                                   evaluator(np)(expression)(*arrays),
                                   rtol=1e-5 if dtype == np.float32 else 1e-13, err_msg=op)


NVCC = shutil.which("nvcc")


def cuda_kernel(expression, name):
    """The group as a CUDA kernel in the shape cupy's ElementwiseKernel gives it: each input a
    ``const T &inK`` of the element, the result ``out0 = <body>``."""
    inputs, result = c_types(expression)
    params = "".join(f"const {t}* p{i}, " for i, t in enumerate(inputs))
    loads = "".join(f"const {t} &in{i} = p{i}[k]; " for i, t in enumerate(inputs))
    return (f'extern "C" __global__ void {name}({params}{result}* out, long n) {{\n'
            f"  long k = blockIdx.x * (long)blockDim.x + threadIdx.x;\n"
            f"  if (k < n) {{ {loads}{result} &out0 = out[k]; "
            f"out0 = {c_expression(expression)}; }}\n}}\n")


@pytest.mark.skipif(NVCC is None, reason="no CUDA compiler (nvcc) here")
def test_cuda_rendering_compiles_as_device_code(tmp_path):
    # no GPU is needed to compile: this catches a body that only the host's C++ accepts (a
    # function without a device overload, a literal of the wrong type) before a GPU runs it
    kernels = []
    for dtype in (np.float64, np.float32):
        for op in TEMPLATED:
            if op != "Fill":
                expression = template_expression(op, avals_of(samples(op, dtype)))
                kernels.append(cuda_kernel(expression, f"{op}_{np.dtype(dtype).name}"))
        for index, (fn, args) in enumerate(workloads(dtype)):
            graph = stage(fn, args).graph
            _, found = fused_groups([n for n in graph.nodes if n.op != "Constant"],
                                    graph.outputs)
            kernels += [cuda_kernel(e, f"group{index}_{k}_{np.dtype(dtype).name}")
                        for k, e in enumerate(found.values())]
    source = tmp_path / "groups.cu"
    source.write_text("\n".join(kernels))
    build = subprocess.run([NVCC, "-ptx", "-arch=sm_90", "-o", str(tmp_path / "groups.ptx"),
                            str(source)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-4000:]
    assert (tmp_path / "groups.ptx").read_text().count(".entry") == len(kernels)


# ---- the CPU's numba loops --------------------------------------------------------------------
from hograd.devices.cpu import fusion as cpu_fusion  # noqa: E402

CPU_FUSED = [op for op in TEMPLATED if op != "Fill"
             and template_functions(registry().op(op).elementwise) <= cpu_fusion.FUNCTIONS]


@pytest.mark.skipif(not cpu_fusion.AVAILABLE, reason="numba (hograd[fusion]) is not installed")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numba_loops_compute_each_cpu_fused_template(dtype):
    assert ({"Add", "Mul", "RealDiv", "Select", "ReLU", "BroadcastTo", "Greater", "Tanh",
             "Sigmoid"} <= set(CPU_FUSED))
    for op in CPU_FUSED:
        arrays = samples(op, dtype)
        expression = template_expression(op, avals_of(arrays))
        got = cpu_fusion.numba_compiler(expression)(*arrays)
        expected = evaluator(np)(expression)(*arrays)
        assert got.dtype == expected.dtype, op
        np.testing.assert_allclose(got, expected, rtol=1e-6 if dtype == np.float32 else 1e-15,
                                   err_msg=op)


@pytest.mark.skipif(not cpu_fusion.AVAILABLE, reason="numba (hograd[fusion]) is not installed")
def test_numba_loops_broadcast_views_and_scalars():
    import ast
    tree = ast.parse("where(in0 > 0, in0 * in1, -in2) / in3", mode="eval").body
    f64 = mstype.float64
    expression = FusedExpression(tree, (AbstractValue((3, 4), f64), AbstractValue((1, 4), f64),
                                        AbstractValue((), f64), AbstractValue((4,), f64)),
                                 AbstractValue((3, 4), f64), 4)
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((4, 3)).T, rng.standard_normal((1, 4)), np.array(2.0),
              np.array([1.0, 0.0, -0.0, 2.0])]          # a transposed view; x / ±0
    got = cpu_fusion.numba_compiler(expression)(*arrays)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(arrays[0] > 0, arrays[0] * arrays[1], -arrays[2]) / arrays[3]
    np.testing.assert_array_equal(got, expected)


def test_a_warm_up_runs_unfused_then_the_graph_is_fused_in_the_background():
    from hograd.core.executor import wait_for_fusions
    fuser = Fuser(compile=evaluator(np), functions=frozenset(FUNCTIONS), warm_calls=2)
    device = registry().device("cpu").model_copy(update={"fuser": fuser})
    fn, args = workloads()[0]
    staged = stage(fn, args)
    executable = Executable(staged.graph, device)
    x = args[0].asnumpy()
    expected = -4 * np.sin(x) * np.exp(x)
    for call in range(1, 4):
        np.testing.assert_allclose(executable([x])[0], expected, rtol=1e-12, atol=1e-12)
        if call == 1:
            assert not executable._plan.fused          # not yet: one call is no steady state
        wait_for_fusions()
    assert executable._plan.fused


def test_a_graph_without_groups_keeps_its_plan_and_buffers():
    fuser = Fuser(compile=evaluator(np), functions=frozenset(FUNCTIONS), min_size=10 ** 9,
                  warm_calls=1)
    device = registry().device("cpu").model_copy(update={"fuser": fuser})
    fn, args = workloads()[0]
    executable = Executable(stage(fn, args).graph, device)
    executable([args[0].asnumpy()])
    plan = executable._plan
    assert not executable.wait_for_fusion() and executable._plan is plan


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_groups_with_infinite_and_nan_constants(dtype, tmp_path):
    import ast
    from hograd.core.fusion import _Substitute
    tree = ast.parse("where(in0 > 0, in0 * inf_, where(in0 != in0, nan_, -inf_))",
                     mode="eval").body
    tree = ast.fix_missing_locations(_Substitute({"in0": ast.Name("in0", ast.Load()),
                                                  "inf_": np.inf, "nan_": np.nan}).visit(tree))
    aval = AbstractValue((5,), mstype.from_numpy(np.dtype(dtype)))
    expression = FusedExpression(tree, (aval,), aval, 4)
    x = np.array([1.0, -1.0, 0.0, np.nan, 2.0], dtype=dtype)
    with np.errstate(invalid="ignore"):
        expected = evaluator(np)(expression)(x)
    np.testing.assert_array_equal(expected, [np.inf, -np.inf, -np.inf, np.nan, np.inf])
    if cpu_fusion.AVAILABLE:
        np.testing.assert_array_equal(cpu_fusion.numba_compiler(expression)(x), expected)
    if COMPILER is not None:
        np.testing.assert_array_equal(run_as_cpp(expression, [x], tmp_path), expected)


def tanh_arguments():
    """Dense over where tanh bends and saturates, geometric towards 0 and the smallest
    subnormal, the points where the range reduction's k steps, and the special values."""
    steps = np.log(2) / 2 * np.arange(1, 60)
    return np.concatenate([np.linspace(-25, 25, 1_000_001), np.geomspace(5e-324, 2, 100_001),
                           -np.geomspace(5e-324, 2, 100_001), np.nextafter(steps, 0),
                           np.nextafter(steps, 9), [0.0, -0.0, 19.99, 20.0, 20.01, 1e300]])


def ulps_apart(got, expected):
    return np.abs(got - expected) / np.spacing(np.maximum(np.abs(expected), 2.2e-308))


@pytest.mark.skipif(not cpu_fusion.AVAILABLE, reason="numba (hograd[fusion]) is not installed")
def test_the_vectorized_tanh_is_within_3_ulp_of_numpys():
    x = tanh_arguments()
    aval = AbstractValue(x.shape, mstype.float64)
    import ast
    expression = FusedExpression(ast.parse("tanh(in0)", mode="eval").body, (aval,), aval, 1)
    got = cpu_fusion.numba_compiler(expression)(x)
    expected = np.tanh(x)
    assert ulps_apart(got, expected).max() <= 3
    np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))   # tanh(-0.0) is -0.0
    special = np.array([np.nan, np.inf, -np.inf, -0.0])
    np.testing.assert_array_equal(cpu_fusion.numba_compiler(
        FusedExpression(expression.tree, (AbstractValue((4,), mstype.float64),),
                        AbstractValue((4,), mstype.float64), 1))(special), np.tanh(special))


def test_the_tanh_of_fused_loops_is_plain_python_too():
    from hograd.devices.cpu.fused_math import tanh
    x = [-30.0, -1.5, -1e-300, 0.0, 0.2, 0.35, 0.7, 3.0, 19.5]
    assert ulps_apart(np.array([tanh(v) for v in x]), np.tanh(x)).max() <= 3
    assert np.isnan(tanh(float("nan")))


@pytest.mark.skipif(not cpu_fusion.AVAILABLE, reason="numba (hograd[fusion]) is not installed")
def test_arithmetic_groups_round_each_operation_as_numpy_does():
    # an FMA would round a·b + c·d once instead of twice, and make a·b - a·b nonzero: only
    # tanh's own polynomial is contracted, not the group's arithmetic around it
    import ast
    aval = AbstractValue((64, 64), mstype.float64)

    def group(text, n_inputs):
        return cpu_fusion.numba_compiler(FusedExpression(ast.parse(text, mode="eval").body,
                                                         (aval,) * n_inputs, aval, 3))

    a, b, c, d = np.random.default_rng(3).standard_normal((4, 64, 64))
    np.testing.assert_array_equal(group("in0 * in1 + in2 * in3", 4)(a, b, c, d), a * b + c * d)
    np.testing.assert_array_equal(group("tanh(in0) + (in0 * in1 - in0 * in1)", 2)(a, b),
                                  group("tanh(in0)", 1)(a))
    np.testing.assert_array_equal(group("tanh(in0) * 0.0 + (in1 * in2 + in3 * in0)", 4)(a, b, c, d),
                                  b * c + d * a)


_CACHED_GROUP = """
import ast, sys
import numpy as np
from hograd import dtype as mstype
from hograd.core.fusion import FusedExpression
from hograd.core.ir import AbstractValue
from hograd.devices.cpu import fusion
aval = AbstractValue((5,), mstype.float64)
tree = ast.parse("tanh(in0) * in0 + 1.0", mode="eval").body
kernel = fusion.numba_compiler(FusedExpression(tree, (aval,), aval, 3))
x = np.linspace(-2, 2, 5)
assert np.allclose(kernel(x), np.tanh(x) * x + 1.0, rtol=1e-15)
print(sum(kernel.dispatcher.stats.cache_hits.values()))
"""


@pytest.mark.skipif(not cpu_fusion.AVAILABLE, reason="numba (hograd[fusion]) is not installed")
def test_a_group_one_process_compiled_is_loaded_from_disk_by_the_next(tmp_path):
    import os
    import sys
    environment = {**os.environ, "HOGRAD_CACHE_DIR": str(tmp_path)}

    def cache_hits():
        run = subprocess.run([sys.executable, "-c", _CACHED_GROUP], env=environment,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        return int(run.stdout.split()[-1])

    assert cache_hits() == 0
    assert [p.suffix for p in (tmp_path / "fused").iterdir() if p.is_file()] == [".py"]
    assert cache_hits() == 1


@pytest.mark.skipif(not cpu_fusion.AVAILABLE, reason="numba (hograd[fusion]) is not installed")
def test_a_cache_directory_that_cannot_be_written_compiles_in_memory(tmp_path, monkeypatch):
    import ast
    blocked = tmp_path / "a file"
    blocked.write_text("")
    monkeypatch.setenv("HOGRAD_CACHE_DIR", str(blocked))
    aval = AbstractValue((3,), mstype.float64)
    expression = FusedExpression(ast.parse("in0 * 3.5 - 1.0", mode="eval").body, (aval,), aval, 2)
    x = np.array([1.0, -2.0, 0.5])
    np.testing.assert_array_equal(cpu_fusion.numba_compiler(expression)(x), x * 3.5 - 1.0)
    monkeypatch.setenv("HOGRAD_CACHE_DIR", "")   # empty: no cache at all
    assert cpu_fusion.cache_directory() is None
    np.testing.assert_array_equal(cpu_fusion.numba_compiler(expression)(x), x * 3.5 - 1.0)


@pytest.mark.skipif(not cpu_fusion.AVAILABLE, reason="numba (hograd[fusion]) is not installed")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numba_loops_sum_a_group_over_any_axes(dtype):
    import ast
    tree = ast.parse("where(in0 > 0, in0 * in1, in2) - 0.25", mode="eval").body
    f = mstype.from_numpy(np.dtype(dtype))
    inputs = (AbstractValue((5, 6, 7), f), AbstractValue((6, 1), f), AbstractValue((), f))
    rng = np.random.default_rng(6)
    arrays = [rng.standard_normal((5, 6, 7)).astype(dtype),
              rng.standard_normal((6, 1)).astype(dtype), np.array(1.5, dtype)]
    value = np.where(arrays[0] > 0, arrays[0].astype(np.float64) * arrays[1], 1.5) - 0.25
    for axes in [(0,), (2,), (1,), (0, 2), (0, 1, 2)]:
        for keep_dims in (False, True):
            expected = value.sum(axis=axes, keepdims=keep_dims)
            expression = FusedExpression(tree, inputs, AbstractValue(expected.shape, f), 4,
                                         reduce_axes=axes, element_shape=(5, 6, 7))
            got = cpu_fusion.numba_compiler(expression)(*arrays)
            assert got.dtype == dtype and got.shape == expected.shape
            # float32: each product rounds to float32 (as unfused), the total only at the end
            tolerance = ({"rtol": 1e-6, "atol": 1e-5} if dtype == np.float32
                         else {"rtol": 1e-14, "atol": 1e-14})
            np.testing.assert_allclose(got, expected, **tolerance, err_msg=f"{axes} {keep_dims}")
            np.testing.assert_allclose(got, evaluator(np)(expression)(*arrays), **tolerance)


@pytest.mark.parametrize("warm_calls", [0, 2])
def test_a_fuser_that_fails_to_compile_leaves_the_graph_running_unfused(warm_calls):
    def broken(expression):
        raise RuntimeError("nvrtc: error: identifier tanhx is undefined")

    fuser = Fuser(compile=broken, functions=frozenset(FUNCTIONS), warm_calls=warm_calls)
    device = registry().device("cpu").model_copy(update={"fuser": fuser})
    fn, args = workloads()[0]
    x = args[0].asnumpy()
    with pytest.warns(RuntimeWarning, match="fusing a graph failed.*tanhx"):
        executable = Executable(stage(fn, args).graph, device)
        for _ in range(3):
            np.testing.assert_allclose(executable([x])[0], -4 * np.sin(x) * np.exp(x),
                                       rtol=1e-12, atol=1e-12)
        executable.wait_for_fusion()
    assert not executable._plan.fused


@pytest.mark.skipif(not cpu_fusion.AVAILABLE, reason="numba (hograd[fusion]) is not installed")
def test_numba_loops_skip_axes_of_length_one():
    # a (1000, 100, 1) product looped its last axis innermost, one element at a time: 3.7×
    # numpy's time; axes of length 1 now get index 0 and no loop
    import ast
    f64 = mstype.float64
    tree = ast.parse("in0 * in1 - in2", mode="eval").body
    inputs = (AbstractValue((6, 5, 1), f64), AbstractValue((6, 1, 1), f64),
              AbstractValue((1,), f64))
    rng = np.random.default_rng(8)
    arrays = [rng.standard_normal(a.shape) for a in inputs]
    value = arrays[0] * arrays[1] - arrays[2]
    for out_shape, axes in [((6, 5, 1), ()), ((1, 5, 1), (0,)), ((6,), (1, 2))]:
        expression = FusedExpression(tree, inputs, AbstractValue(out_shape, f64), 3,
                                     reduce_axes=axes, element_shape=(6, 5, 1) if axes else None)
        assert "for i2" not in cpu_fusion.python_loop(expression)
        np.testing.assert_allclose(cpu_fusion.numba_compiler(expression)(*arrays),
                                   value.sum(axis=axes).reshape(out_shape) if axes else value,
                                   rtol=1e-14, atol=1e-14)
