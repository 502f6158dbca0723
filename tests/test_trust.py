"""No silent wrong number: each defect found by fuzzing and misuse, pinned by a test that failed
before its fix. Conventions follow MindSpore where it defines them, else JAX (docs/api.md)."""
import dataclasses
import gc
import math
import os
import subprocess
import sys
import textwrap
import types
import warnings
import weakref

import numpy as np
import pytest

import hograd
from hograd import Parameter, ParameterTuple, Tensor, context, nn, ops
from hograd import dtype as mstype
from hograd.core.errors import ConcreteReadError, OpInputError, PluginError, TracingError

Grad = ops.GradOperation


def f64(*values):
    return Tensor(np.array(values, dtype=np.float64))


def nth_derivative(fn, order):
    for _ in range(order):
        fn = Grad()(fn)
    return fn


# ---- 1. Pow at base 0 ----------------------------------------------------------------------
@pytest.mark.parametrize("power, order, expected", [
    (1.0, 2, 0.0), (2.0, 3, 0.0), (3.0, 4, 0.0),   # were NaN: 0·pow(0, negative)
    (2.0, 2, 2.0), (3.0, 3, 6.0), (2.0, 1, 0.0), (1.0, 1, 1.0), (0.0, 1, 0.0), (0.0, 3, 0.0),
])
def test_derivatives_of_powers_at_zero_are_the_analytic_values(mode, power, order, expected):
    derivative = nth_derivative(lambda x: x ** power, order)
    np.testing.assert_array_equal(derivative(f64(0.0)).asnumpy(), [expected])


def test_derivative_of_a_power_in_its_exponent_at_base_zero_is_zero(mode):
    dx, dy = Grad(get_all=True)(lambda x, y: x ** y)(f64(0.0), f64(2.0))
    np.testing.assert_array_equal([dx.asnumpy(), dy.asnumpy()], [[0.0], [0.0]])
    # second order: d/dx of (y·x^(y-1) + x^y·log x) at x = 0, y = 2 is 2 (x·log x → 0)
    dxx, dyy = Grad(get_all=True)(Grad(get_all=True)(lambda x, y: x ** y))(f64(0.0), f64(2.0))
    np.testing.assert_allclose([dxx.asnumpy(), dyy.asnumpy()], [[2.0], [0.0]])


def test_pow_rules_are_unchanged_away_from_zero():
    dx, dy = Grad(get_all=True)(lambda x, y: x ** y)(f64(1.3), f64(2.5))
    np.testing.assert_allclose(dx.asnumpy(), [2.5 * 1.3 ** 1.5])
    np.testing.assert_allclose(dy.asnumpy(), [1.3 ** 2.5 * math.log(1.3)])
    np.testing.assert_allclose(nth_derivative(lambda x: x ** 3.0, 3)(f64(0.7)).asnumpy(), [6.0])


# ---- 2 and 13. Gradient caches hold functions weakly -------------------------------------------
@dataclasses.dataclass
class Scaled:  # a dataclass with eq is unhashable: the cache used to key it by id()
    a: float

    def __call__(self, x):
        return x * self.a


def test_one_grad_operation_on_many_unhashable_callables_gives_each_its_own_gradient():
    grad = Grad()
    answers = [grad(Scaled(float(a)))(f64(1.0)).asnumpy()[0] for a in range(1, 41)]
    assert answers == [float(a) for a in range(1, 41)]


def test_a_grad_operation_does_not_keep_collected_closures_or_what_they_hold():
    grad = Grad()
    held = []
    for step in range(20):
        big = Tensor(np.full(100_000, float(step)))

        def closure(x, big=big):
            return x * big[0]
        held.append(weakref.ref(closure))
        del big
        np.testing.assert_allclose(grad(closure)(f64(1.0)).asnumpy(), [float(step)])
        del closure
    gc.collect()
    assert all(ref() is None for ref in held)
    assert len(grad._caches) == 0


def test_variants_per_signature_are_bounded_and_the_last_one_that_held_runs_first():
    from hograd.core.cache import LIMITS

    class Peeking(nn.Cell):
        def construct(self, x):
            return x * 2.0 if float(x) > float(np.round(float(x))) else x * 3.0

    context.set_context(mode=context.GRAPH_MODE)
    net = Peeking()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for value in np.linspace(0.0, 5.0, 40):
            expected = value * (2.0 if value > round(value) else 3.0)
            np.testing.assert_allclose(net(f64(value)).asnumpy(), [expected])
    key = next(iter(net._graphs._variants))
    assert len(net._graphs.variants(key)) <= LIMITS.variants_per_signature
    first = net._graphs.variants(key)[0]
    net(f64(5.0))  # the last value: its variant is found first and stays first
    assert net._graphs.variants(key)[0] is first


# ---- 3 and 4. Plugins cannot hijack built-ins; clashes fail the newcomer -------------------------
def _build_with(monkeypatch, *plugins):
    """A registry built with extra in-process plugins (name, module object)."""
    from hograd.core import loader as plugin_loading
    from hograd.core import registry as registry_module
    original = plugin_loading.make_plugin_manager

    def with_extra():
        manager, records = original()
        for name, module in plugins:
            record = plugin_loading.PluginRecord(name, name + "_module")
            records.append(record)
            plugin_loading.register(manager, record, lambda module=module: module)
        return manager, records

    monkeypatch.delenv("HOGRAD_STRICT_PLUGINS", raising=False)
    monkeypatch.setattr(registry_module, "make_plugin_manager", with_extra)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        built = registry_module._build()
    return built, [str(w.message) for w in caught]


def _kernel_plugin(**spec):
    from hograd.core.device import KernelSpec
    from hograd.core.hookspecs import hookimpl
    return types.SimpleNamespace(hograd_kernels=hookimpl(lambda: [KernelSpec(**spec)]))


def test_a_plugin_kernel_for_a_builtin_op_is_refused_and_named(monkeypatch):
    hijack = _kernel_plugin(op="Sin", device="cpu", fn=np.cos)
    built, warned = _build_with(monkeypatch, ("aaa_hijack", hijack))
    assert built.kernel_provider[("Sin", "cpu")] == "cpu"
    np.testing.assert_allclose(built.kernel("Sin", "cpu")(np.array([0.5])), np.sin([0.5]))
    record = {r.name: r for r in built.plugins}["aaa_hijack"]
    assert record.status == "failed" and "kernel Sin@cpu from plugin 'aaa_hijack'" in record.error
    assert record.provided == {}
    assert any("aaa_hijack" in w and "override=True" in w for w in warned)


def test_an_op_whose_function_name_clashes_registers_nothing(monkeypatch):
    from hograd.core.hookspecs import hookimpl
    from hograd.core.device import KernelSpec
    from hograd.ops.families import unary
    upper = types.SimpleNamespace(
        hograd_ops=hookimpl(lambda: [unary("SIN", lambda g, out, x: g, doc="clash")]),
        hograd_kernels=hookimpl(lambda: [KernelSpec(op="Sin", device="cpu", fn=np.cos)]))
    built, _ = _build_with(monkeypatch, ("upper", upper))
    assert "SIN" not in built.ops and built.functions["sin"].name == "Sin"
    assert built.kernel_provider[("Sin", "cpu")] == "cpu"  # its kernels went too
    record = {r.name: r for r in built.plugins}["upper"]
    assert "function name 'sin' (of op 'Sin')" in record.error and record.provided == {}


def test_an_explicit_override_replaces_and_is_reported(monkeypatch, capsys):
    tuned = _kernel_plugin(op="Sin", device="cpu", fn=np.sin, override=True)
    built, warned = _build_with(monkeypatch, ("tuned", tuned))
    assert built.kernel_provider[("Sin", "cpu")] == "tuned"
    assert {r.name: r for r in built.plugins}["tuned"].overrides == [
        "kernel Sin@cpu (was from plugin 'cpu')"]
    assert "hograd plugin 'tuned' overrides kernel Sin@cpu (was from plugin 'cpu')" in warned
    from hograd.core import registry as registry_module
    from hograd.cli import main
    monkeypatch.setattr(registry_module, "_registry", built)
    main(["plugins"])
    assert "overrides kernel Sin@cpu (was from plugin 'cpu')" in capsys.readouterr().out


def test_the_outcome_of_clashing_plugins_does_not_depend_on_their_load_order(monkeypatch):
    first = _kernel_plugin(op="Cos", device="cpu", fn=np.sin, override=True)
    second = _kernel_plugin(op="Cos", device="cpu", fn=np.tan, override=True)
    a, _ = _build_with(monkeypatch, ("zeta", first), ("alpha", second))
    b, _ = _build_with(monkeypatch, ("alpha", second), ("zeta", first))
    assert a.kernel_provider[("Cos", "cpu")] == b.kernel_provider[("Cos", "cpu")] == "zeta"


def test_a_clashing_third_party_op_leaves_the_builtin_ops_working(monkeypatch):
    from hograd.core.hookspecs import hookimpl
    from hograd.ops.families import unary
    clash = types.SimpleNamespace(
        hograd_ops=hookimpl(lambda: [unary("Sin", lambda g, out, x: g, doc="clash")]))
    built, warned = _build_with(monkeypatch, ("aaa_clash", clash))
    statuses = {r.name: r.status for r in built.plugins}
    assert statuses["builtin_ops"] == "loaded" and statuses["aaa_clash"] == "failed"
    assert any("'aaa_clash'" in w for w in warned)
    assert built.op_provider["Sin"] == "builtin_ops"
    monkeypatch.setenv("HOGRAD_STRICT_PLUGINS", "1")
    from hograd.core import registry as registry_module
    with pytest.raises(PluginError, match="hograd plugin 'aaa_clash'"):
        registry_module._build()


# ---- 5 and 6. Bools count; bool indices add an axis ---------------------------------------------
def test_sums_products_and_running_sums_of_bools_count_in_int64():
    x = f64(1.0, -2.0, 3.0, 0.5)
    count = (x > 0).sum()
    assert count.dtype == mstype.int64 and int(count) == 3
    assert ops.ReduceSum()(x > 0).dtype == mstype.int64
    np.testing.assert_array_equal(ops.reduce_prod(x > -5.0).asnumpy(), 1)
    np.testing.assert_array_equal(ops.cumsum(x > 0, 0).asnumpy(), [1, 1, 2, 3])


@pytest.mark.parametrize("index", [True, False, (0, True), (Ellipsis, False), (False, 1),
                                   (None, True, slice(None)), (slice(None), Ellipsis, False)])
def test_boolean_scalars_index_as_numpy_does(index):
    array = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(Tensor(array)[index].asnumpy(), array[index])
    assert Tensor(array)[index].shape == array[index].shape


def test_boolean_scalar_indices_differentiate(mode):
    grad = Grad()(lambda x: x[True].sum() * 2.0 + x[False].sum())(Tensor(np.ones((2, 3))))
    np.testing.assert_array_equal(grad.asnumpy(), np.full((2, 3), 2.0))


# ---- 7. PyNative gradients see the state of now ------------------------------------------------
def test_pynative_gradients_see_a_changed_closure_value():
    context.set_context(mode=context.PYNATIVE_MODE)
    config = {"scale": 2.0}

    class Scale(nn.Cell):
        def construct(self, x):
            return x * config["scale"]

    net = Scale()
    grad = Grad()(net)
    np.testing.assert_allclose(grad(f64(1.0)).asnumpy(), [2.0])
    config["scale"] = 5.0
    np.testing.assert_allclose(net(f64(1.0)).asnumpy(), [5.0])
    np.testing.assert_allclose(grad(f64(1.0)).asnumpy(), [5.0])


# ---- 8. A Parameter passed as the input it is differentiated against -------------------------
def test_a_parameter_passed_as_the_input_gets_its_gradient(mode):
    p = Parameter(f64(3.0), name="p")
    grads = Grad(get_by_list=True)(lambda x: x * x, ParameterTuple([p]))(p)
    np.testing.assert_allclose(grads[0].asnumpy(), [6.0])


def test_a_parameter_read_as_attribute_and_passed_as_input_is_one_variable(mode):
    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.p = Parameter(f64(3.0), name="p")

        def construct(self, x):
            return x * self.p  # p·p when called with p: d/dp = 2p

    net = Net()
    grads = Grad(get_by_list=True)(net, ParameterTuple(net.trainable_params()))(net.p)
    np.testing.assert_allclose(grads[0].asnumpy(), [6.0])


# ---- 9. No aliasing of the caller's arrays -------------------------------------------------------
def test_tensors_and_parameters_copy_the_array_they_are_made_from():
    source = np.array([1.0, 2.0])
    tensor, param = Tensor(source), Parameter(source, name="p")
    other = np.array([7.0, 8.0])
    param.set_data(other)
    source[0] = 100.0
    other[0] = 100.0
    np.testing.assert_array_equal(tensor.asnumpy(), [1.0, 2.0])
    np.testing.assert_array_equal(param.asnumpy(), [7.0, 8.0])


# ---- 10. Python-number arguments are keyed by their bits --------------------------------------
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_minus_zero_and_nan_arguments_get_their_own_graphs(mode):
    grad = Grad()(lambda x, c: x / c)
    assert grad(f64(1.0), 0.0).asnumpy()[0] == np.inf
    assert grad(f64(1.0), -0.0).asnumpy()[0] == -np.inf
    assert np.isnan(grad(f64(1.0), float("nan")).asnumpy()[0])
    assert grad(f64(1.0), 2.0).asnumpy()[0] == 0.5


# ---- 11 and 12. Reading a differentiated value as a number is refused ----------------------------
@pytest.mark.parametrize("read", [float, int, lambda t: t.item(), lambda t: t.asnumpy(),
                                  math.sin, np.asarray])
def test_reading_a_differentiated_tensor_as_a_number_is_an_error(mode, read):
    with pytest.raises(ConcreteReadError, match="depends on what is being differentiated.*"
                                                "ops.stop_gradient"):
        Grad()(lambda x: x * read(x))(f64(1.5))


def test_reads_of_constants_and_stopped_values_and_branches_stay_allowed(mode):
    def fn(x, n):
        scale = float(ops.stop_gradient(x))  # a constant, explicitly
        if x > 0:  # a branch: recorded as a guard
            return x * scale * float(n)
        return -x

    np.testing.assert_allclose(Grad()(fn)(f64(1.5), f64(2.0)).asnumpy(), [3.0])
    np.testing.assert_allclose(Grad()(fn)(f64(-1.5), f64(2.0)).asnumpy(), [-1.0])


def test_reads_inside_an_inner_gradient_see_the_outer_derivative(mode):
    def inner(x, y):
        return x * y * float(ops.stop_gradient(y))

    # the outer derivative w.r.t. x flows through the inner trace: reading x there is refused
    with pytest.raises(ConcreteReadError):
        Grad()(lambda x, y: Grad(get_all=True)(lambda a, b: a * b * float(a))(x, y)[1])(
            f64(1.0), f64(2.0))
    np.testing.assert_allclose(Grad()(lambda x, y: Grad()(inner)(x, y))(
        f64(1.0), f64(2.0)).asnumpy(), [0.0])


def test_a_guard_that_reads_nan_does_not_leak_an_internal_error(mode):
    def fn(x):
        if float(ops.stop_gradient(x)) > 0:
            return x * 2.0
        return x * 3.0

    np.testing.assert_allclose(Grad()(fn)(f64(float("nan"))).asnumpy(), [3.0])
    np.testing.assert_allclose(Grad()(fn)(f64(float("nan"))).asnumpy(), [3.0])
    np.testing.assert_allclose(Grad()(fn)(f64(1.0)).asnumpy(), [2.0])


def test_a_variant_that_fails_its_guard_on_its_own_inputs_gets_a_clear_error():
    from hograd.core.cache import VariantCache
    from hograd.core.errors import GuardFailure

    def run(_variant):  # stands for code deciding on random numbers or the clock
        raise GuardFailure()

    with pytest.raises(TracingError, match="took another branch when its graph was rerun"):
        VariantCache().call("signature", run, lambda: "variant")


# ---- 14. Optional devices are never fatal ---------------------------------------------------------
def test_a_gpu_whose_binding_fails_is_reported_absent_and_the_cpu_works(tmp_path):
    fake = tmp_path / "fake"
    (fake / "cupy").mkdir(parents=True)
    (fake / "cupy" / "__init__.py").write_text(textwrap.dedent("""
        import numpy
        class cuda:
            class runtime:
                @staticmethod
                def getDeviceCount():
                    return 1
        asarray = numpy.asarray
        asnumpy = numpy.asarray
    """))
    (fake / "array_api_compat").mkdir()
    (fake / "array_api_compat" / "__init__.py").write_text(
        "raise ImportError('array_api_compat is not installed (simulated)')\n")
    script = textwrap.dedent("""
        import warnings
        warnings.simplefilter("ignore")
        import numpy as np
        from hograd import Tensor, ops
        from hograd.core.registry import registry
        print(float(ops.sin(Tensor(np.array([0.5]))).asnumpy()[0]))
        gpu = registry().devices["gpu"]
        print(gpu.present, gpu.absent_reason)
    """)
    env = {k: v for k, v in os.environ.items() if k != "HOGRAD_STRICT_PLUGINS"}
    env["PYTHONPATH"] = os.pathsep.join([str(fake), *sys.path])
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    value, presence = done.stdout.strip().splitlines()
    assert float(value) == pytest.approx(math.sin(0.5))
    assert presence.startswith("False") and "array_api_compat is not installed" in presence


# ---- 16. Narrow integer dtypes are refused, not widened ------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.uint16, np.uint32, np.uint64])
def test_unsupported_integer_arrays_are_refused_with_the_fix(dtype):
    with pytest.raises(TypeError, match=f"integer dtype {np.dtype(dtype)} is not supported.*"
                                        f"astype"):
        Tensor(np.array([100], dtype))


def test_an_explicit_dtype_converts_narrow_integers():
    np.testing.assert_array_equal(Tensor(np.array([200], np.uint8), dtype=mstype.int32).asnumpy(),
                                  [200])


# ---- 17. Conventions -------------------------------------------------------------------------------
def test_abs_has_derivative_zero_at_zero_as_in_mindspore(mode):
    np.testing.assert_array_equal(Grad()(ops.abs)(f64(-2.0, 0.0, 3.0)).asnumpy(), [-1.0, 0.0, 1.0])


def test_maximum_and_minimum_split_the_gradient_at_ties(mode):
    x, y = f64(1.0, 2.0, 3.0), f64(1.0, 5.0, 0.0)
    dx, dy = Grad(get_all=True)(ops.maximum)(x, y)
    np.testing.assert_array_equal([dx.asnumpy(), dy.asnumpy()], [[0.5, 0.0, 1.0], [0.5, 1.0, 0.0]])
    dx, dy = Grad(get_all=True)(ops.minimum)(x, y)
    np.testing.assert_array_equal([dx.asnumpy(), dy.asnumpy()], [[0.5, 1.0, 0.0], [0.5, 0.0, 1.0]])


def test_maximum_propagates_nan_and_passes_it_no_gradient():
    x, y = f64(float("nan"), 1.0), f64(1.0, float("nan"))
    assert np.isnan(ops.maximum(x, y).asnumpy()).all()
    assert np.isnan(ops.minimum(x, y).asnumpy()).all()
    dx, dy = Grad(get_all=True)(ops.maximum)(x, y)
    np.testing.assert_array_equal([dx.asnumpy(), dy.asnumpy()], [[0.0, 0.0], [0.0, 0.0]])


def test_numpy_scalars_keep_their_dtype():
    # np.float64(0.5) was read as a Python float and silently became float32
    assert Tensor(np.float64(0.5)).dtype == mstype.float64
    assert Tensor(np.float64(0.1)).asnumpy() == np.float64(0.1)
    assert Tensor(np.int32(3)).dtype == mstype.int32
    assert Tensor(0.5).dtype == mstype.float32  # Python floats stay float32, as in MindSpore


def test_common_subexpressions_tell_minus_zero_from_zero():
    # Fill(-0.0) and Fill(0.0) compare equal as attributes; merged, 1/x took one sign for both
    class Signed(nn.Cell):
        def construct(self, x):
            minus = ops.Fill()(mstype.float64, (1,), -0.0)
            plus = ops.Fill()(mstype.float64, (1,), 0.0)
            return x / minus - x / plus

    context.set_context(mode=context.GRAPH_MODE)
    with np.errstate(divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert Signed()(f64(1.0)).asnumpy()[0] == -np.inf


# ---- found in review: the functional transforms and Taylor mode keep the same promises ----------
def test_functional_grad_of_a_parameter_passed_as_its_argument(mode):
    import hograd
    p = Parameter(f64(2.0), name="p")
    other = f64(5.0)
    square = lambda a: a * a  # noqa: E731
    np.testing.assert_allclose(hograd.grad(square, None, p)(p).asnumpy(), [4.0])
    dx, dp = hograd.grad(square, 0, p)(p)
    np.testing.assert_allclose([dx.asnumpy(), dp.asnumpy()], [[4.0], [4.0]])
    # the same compiled function called with another tensor: the weight is not that tensor
    dx, dp = hograd.grad(square, 0, p)(other)
    np.testing.assert_allclose([dx.asnumpy(), dp.asnumpy()], [[10.0], [0.0]])
    with pytest.raises(ConcreteReadError):
        hograd.grad(lambda a: a * float(a), None, p)(p)


def test_a_gradient_that_equals_a_parameter_is_not_that_parameter(mode):
    import hograd

    class Scale(nn.Cell):
        def __init__(self):
            super().__init__()
            self.p = Parameter(f64(3.0), name="p")

        def construct(self, a):
            return a * self.p

    net = Scale()
    dx, _ = hograd.grad(net, 0, net.trainable_params())(f64(5.0))
    assert type(dx) is Tensor and dx is not net.p
    np.testing.assert_allclose(dx.asnumpy(), [3.0])


def test_taylor_mode_refuses_reading_its_inputs_as_numbers():
    import hograd
    with pytest.raises(ConcreteReadError):
        ops.derivative(lambda a: a * float(a), f64(2.0), 1)
    with pytest.raises(ConcreteReadError):
        hograd.laplacian(lambda a: ops.reduce_sum(a * a) * float(ops.reduce_sum(a)))(
            Tensor(np.ones((1, 2))))
    _, first = ops.derivative(lambda a: a * float(ops.stop_gradient(a)), f64(2.0), 1)
    np.testing.assert_allclose(first.asnumpy(), [2.0])


def test_forward_mode_gives_integer_inputs_their_derivative_as_reverse_mode_does():
    ints = Tensor(np.array([1, 2, 3], np.int32))
    square = lambda a: a * a  # noqa: E731
    np.testing.assert_array_equal(ops.jacfwd(square)(ints).asnumpy(), np.diag([2, 4, 6]))
    np.testing.assert_array_equal(ops.jacrev(square)(ints).asnumpy(), np.diag([2, 4, 6]))
    np.testing.assert_array_equal(ops.jvp(square, ints, Tensor(np.ones(3, np.int32)))[1]
                                  .asnumpy(), [2, 4, 6])


def test_taylor_mode_splits_maximum_and_minimum_ties_like_the_other_modes():
    one = f64(1.0)
    for fn in (lambda a: ops.maximum(a, one), lambda a: ops.maximum(one, a),
               lambda a: ops.minimum(a, one)):
        np.testing.assert_allclose(ops.derivative(fn, one, 1)[1].asnumpy(), [0.5])
    nan = f64(float("nan"))
    np.testing.assert_allclose(ops.derivative(lambda a: ops.maximum(nan, a), one, 1)[1]
                               .asnumpy(), [0.0])
    # away from ties, the winner's series: d²/dx² max(x², x) at 2 is 2
    np.testing.assert_allclose(ops.derivative(lambda a: ops.maximum(a * a, a), f64(2.0), 2)[1]
                               .asnumpy(), [2.0])


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_the_exponent_derivative_of_x_to_the_0_at_0_is_minus_infinity():
    # ∂/∂y x^y = x^y·log x: at x = 0, y = 0 that is 1·log 0 (the mask is only for 0·log 0)
    _, dy = Grad(get_all=True)(lambda x, y: x ** y)(f64(0.0), f64(0.0))
    assert dy.asnumpy()[0] == -np.inf


def test_an_overriding_op_takes_over_its_aliases_and_roles(scratch_registry):
    from hograd.ops.families import binary
    tuned = binary("Add", lambda g, out, x, y: g, lambda g, out, x, y: g, doc="tuned add")
    scratch_registry.add_op(tuned.model_copy(update={"override": True}), "tuned")
    assert scratch_registry.ops["TensorAdd"] is scratch_registry.ops["Add"]
    assert scratch_registry.role("add") is scratch_registry.ops["Add"]
    assert scratch_registry.ops["Add"].doc == "tuned add"


def test_an_assignment_before_a_failing_guard_is_applied_once():
    # the guard fails on the second call, after the run assigned: the retraced graph runs the
    # assignment again, so the first run's must not have been applied
    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.p = Parameter(Tensor(np.ones(2)), name="p")

        def construct(self, x):
            ops.assign(self.p, self.p * x)
            if float(x.sum().asnumpy()) > 0:
                return x + 1
            return x - 1

    results = {}
    for mode in (hograd.PYNATIVE_MODE, hograd.GRAPH_MODE):
        hograd.set_context(mode=mode)
        try:
            net = Net()
            outputs = [net(Tensor(np.full(2, v))).asnumpy() for v in (2.0, -3.0, 0.5)]
        finally:
            hograd.set_context(mode=hograd.PYNATIVE_MODE)
        results[mode] = (net.p.asnumpy(), outputs)
    for p, outputs in results.values():
        np.testing.assert_array_equal(p, np.full(2, -3.0))       # 1 · 2 · (−3) · 0.5
        np.testing.assert_array_equal(outputs[1], np.full(2, -4.0))
