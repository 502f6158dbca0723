"""Bad input gets a clear error: what was wrong, where (op, input, device, order), what to do."""
import numpy as np
import pytest

from hograd import Parameter, Tensor, context, ops
from hograd import dtype as mstype
from hograd.core.device import DeviceSpec
from hograd.core.errors import (GradArgumentError, MissingKernelError, NotDifferentiableError,
                                OpDtypeError, OpInputError, UnknownDeviceError)

Grad = ops.GradOperation


def test_shape_mismatch_names_the_op_the_inputs_and_the_device():
    a, b = Tensor(np.ones((2, 3), np.float32)), Tensor(np.ones((2, 3), np.float32))
    with pytest.raises(OpInputError) as err:
        ops.MatMul()(a, b)
    message = str(err.value)
    assert message.startswith("MatMul: 'a' of shape (2, 3)")
    assert "contracted dimensions 3 and 2 differ" in message
    assert "device cpu, eagerly" in message


def test_broadcast_mismatch_names_both_inputs():
    with pytest.raises(OpInputError, match=r"Add: input shapes 'x' \(2, 3\), 'y' \(4,\) cannot "
                                           r"be broadcast together"):
        Tensor(np.ones((2, 3))) + Tensor(np.ones(4))


def test_an_error_inside_a_derivative_says_which_order_was_being_built():
    def bad(x):
        return ops.MatMul()(x, x)

    with pytest.raises(OpInputError, match="while building a 2nd-order derivative"):
        Grad()(Grad()(bad))(Tensor(np.ones((2, 3))))


def test_dtype_mismatch_says_how_to_fix_it():
    a = Tensor(np.ones((2, 2), np.float32))
    b = Tensor(np.ones((2, 2), np.float64))
    with pytest.raises(OpDtypeError, match=r"MatMul: input 'b' has dtype float64 but 'a' has "
                                           r"float32; cast one with ops.Cast\(\)\(x, dtype\)"):
        ops.MatMul()(a, b)


def test_elementwise_ops_promote_mixed_dtypes_like_pytorch():
    out = Tensor(np.ones(2, np.float32)) * Tensor(np.array([2, 3], np.int64))
    assert out.dtype == mstype.float32
    assert (Tensor(np.ones(2, np.float32)) + Tensor(np.ones(2))).dtype == mstype.float64


def test_unknown_device_target_lists_the_registered_devices():
    with pytest.raises(UnknownDeviceError, match=r"unknown device target 'TPU'; registered "
                                                 r"devices: ascend \(Ascend/npu\), cpu \(CPU\), "
                                                 r"gpu \(GPU/cuda\)"):
        context.set_context(device_target="TPU")
    assert context.get_context("device_target") == "CPU"


def test_device_target_is_case_insensitive():
    context.set_context(device_target="cpu")
    context.set_context(device_target="CPU")


def test_an_op_without_a_kernel_names_the_op_the_device_and_where_it_exists(scratch_registry):
    scratch_registry.add_device(DeviceSpec(name="kernelless", aliases=("Kernelless",)),
                                "test-suite")
    context.set_context(device_target="Kernelless")
    try:
        x = Tensor([1.0, 2.0])
        with pytest.raises(MissingKernelError) as err:
            ops.Sin()(x)
    finally:
        context.set_context(device_target="CPU")
    message = str(err.value)
    assert "op 'Sin' has no kernel on device 'kernelless'" in message
    assert "devices with a kernel for it: cpu" in message
    assert "provided by plugin 'builtin_ops'" in message


def test_differentiating_a_non_differentiable_input_raises_with_the_reason():
    with pytest.raises(NotDifferentiableError) as err:
        Grad()(ops.sign)(Tensor([1.0, -2.0]))
    message = str(err.value)
    assert "Sign: input 'x' is not differentiable (Sign is piecewise constant" in message
    assert "1st-order derivative" in message and "ops.stop_gradient" in message


def test_a_non_differentiable_op_is_fine_where_no_gradient_flows_through_it():
    grad = Grad()(lambda x, y: x * ops.sign(y))(Tensor([3.0]), Tensor([-2.0]))
    np.testing.assert_allclose(grad.asnumpy(), [-1.0])
    grad = Grad()(lambda x: x * ops.sign(ops.stop_gradient(x)))(Tensor([-3.0]))
    np.testing.assert_allclose(grad.asnumpy(), [-1.0])


def test_sens_whose_structure_does_not_match_the_output():
    two_outputs = Grad(sens_param=True)(lambda x: (x * 2.0, x * 3.0))
    with pytest.raises(GradArgumentError, match=r"sens must mirror the output of <lambda>: "
                                                r"expected a tuple of 2 \(a Tensor, a Tensor\), "
                                                r"got a Tensor"):
        two_outputs(Tensor([1.0]), Tensor([1.0]))


def test_sens_whose_shape_does_not_match_the_output():
    with pytest.raises(GradArgumentError, match=r"sens\[0\] has shape \(3,\) but output 0 of "
                                                r"<lambda> has shape \(2,\)"):
        Grad(sens_param=True)(lambda x: x * 2.0)(Tensor([1.0, 2.0]), Tensor([1.0, 1.0, 1.0]))


def test_get_by_list_without_weights():
    with pytest.raises(GradArgumentError, match=r"get_by_list=True\) needs the weights"):
        Grad(get_by_list=True)(lambda x: x)


def test_weights_without_get_by_list():
    weight = Parameter(Tensor([1.0]), name="w")
    with pytest.raises(GradArgumentError, match="get_by_list=False"):
        Grad()(lambda x: x, weight)


@pytest.mark.parametrize("flag", ["get_all", "get_by_list", "sens_param"])
def test_wrong_type_for_a_grad_operation_flag(flag):
    with pytest.raises(GradArgumentError, match=f"GradOperation: {flag} must be True or False, "
                                                f"got 1 of type int"):
        Grad(**{flag: 1})


def test_unknown_op_attribute():
    with pytest.raises(OpInputError, match=r"MatMul: unknown attribute\(s\) \['transpose_c'\]"):
        ops.MatMul(transpose_c=True)


def test_wrongly_typed_op_attribute():
    with pytest.raises(OpInputError, match="ReduceSum: attribute keep_dims"):
        ops.ReduceSum(keep_dims="yes")(Tensor([1.0]))


def test_unknown_op_suggests_close_names():
    with pytest.raises(AttributeError, match="hograd.ops has no op or function named 'Sinn'"):
        _ = ops.Sinn


def test_unsupported_numpy_dtype():
    with pytest.raises(TypeError, match="numpy dtype complex128 is not supported by hograd"):
        Tensor(np.array([1j]))


def test_branching_inside_a_backward_rule_is_refused():
    from hograd.core.errors import TracingError
    from hograd.core.trace import Trace
    with Trace(symbolic=True) as trace:
        x = trace.new_input(Tensor([1.0]).aval, None, Tensor([1.0])._device)
        with pytest.raises(TracingError, match="use ops.Select instead"):
            bool(x > 0.0)


def test_set_context_rejects_unknown_settings_and_modes():
    # save_graphs is a MindSpore setting hograd accepts as a no-op (issue 14); a made-up one fails
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['save_grafs'\]"):
        context.set_context(save_grafs=True)
    with pytest.raises(ValueError, match="mode must be context.GRAPH_MODE"):
        context.set_context(mode=5)


def test_math_on_integer_tensors_computes_in_float32_as_in_pytorch():
    out = ops.sin(Tensor(np.array([0, 1], np.int64)))
    assert out.dtype == mstype.float32
    np.testing.assert_allclose(out.asnumpy(), np.sin([0.0, 1.0]).astype(np.float32))
    assert (Tensor([1, 2]) / Tensor([2, 4])).dtype == mstype.float32
    assert (Tensor([1, 2]) * Tensor([2, 4])).dtype == mstype.int64


def test_a_kernel_failing_in_a_compiled_run_is_named_as_eagerly():
    from hograd import nn

    class Power(nn.Cell):
        def construct(self, x, y):
            return x ** y + 1

    context.set_context(mode=context.GRAPH_MODE)
    net, x = Power(), Tensor(np.array([2, 3]))
    np.testing.assert_array_equal(net(x, Tensor(np.array([1, 2]))).asnumpy(), [3, 10])
    # the compiled graph meets values its trace did not: the executor's kernel raises
    with pytest.raises(OpInputError, match=r"Pow: cannot be computed for 'x' int64\[2\], 'y' "
                                           r"int64\[2\] on device cpu \(ValueError: Integers to "
                                           r"negative integer powers are not allowed.\) \(while "
                                           r"running a compiled graph\)"):
        net(x, Tensor(np.array([-1, 2])))


def test_a_kernel_breaking_its_ops_shape_rule_is_named_with_its_plugin(scratch_registry):
    from hograd.core.device import KernelSpec
    from hograd.core.errors import KernelContractError
    scratch_registry.add_device(DeviceSpec(name="sloppy"), "test-suite")
    scratch_registry.add_kernel(KernelSpec(op="Sin", device="sloppy",
                                           fn=lambda x: np.sin(x).astype(np.float64)),
                                "sloppy-plugin")
    context.set_context(device_target="sloppy")
    with pytest.raises(KernelContractError, match=r"the Sin kernel on device sloppy \(from plugin "
                                                  r"'sloppy-plugin'\) returned float64\[2\] where "
                                                  r"the op's shape rule gives float32\[2\]"):
        ops.sin(Tensor([1.0, 2.0]))


def test_attribute_values_of_an_op_without_call_time_attributes_fail_at_construction():
    with pytest.raises(OpInputError, match="MatMul: attribute transpose_a: Input should be a "
                                           "valid boolean"):
        ops.MatMul(transpose_a="yes")
