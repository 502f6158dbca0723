"""Bad calls a new user makes, each with the exception it must raise and the words its message
must hold: what was wrong, where, and what to do. Never an internal exception, never a silent
answer."""
import numpy as np
import pytest

import hograd
from hograd.serialization import CheckpointError
from hograd import Parameter, ParameterTuple, Tensor, context, nn, ops
from hograd import dtype as mstype
from hograd.serialization import CheckpointError
from hograd.core.errors import (ConcreteReadError, DeviceAbsentError, GradArgumentError,
                                NotDifferentiableError, OpDtypeError, OpInputError,
                                TracingError, UnknownDeviceError)

Grad = ops.GradOperation


def matrix():
    return Tensor(np.ones((2, 3)))


def vector():
    return Tensor(np.ones(3))


def ints():
    return Tensor(np.array([1, 2]))


def bools():
    return Tensor(np.array([True, False]))


def param():
    return Parameter(Tensor(np.ones(2)), name="p")


class WithoutSuperInit(nn.Cell):
    def __init__(self):
        self.w = 1


class WithoutConstruct(nn.Cell):
    pass


class BpropReturningANumber(nn.Cell):
    def construct(self, x):
        return x * 2.0

    def bprop(self, x, out, dout):
        return 1


# (what the user did, the call, the exception, words the message must hold)
MISUSE = [
    # tensors and dtypes
    ("Tensor without data", lambda: Tensor(), TypeError, ["data is required"]),
    ("Tensor of strings", lambda: Tensor("abc"), TypeError, ["not supported", "float32"]),
    ("Tensor of complex", lambda: Tensor(np.array([1j])), TypeError, ["complex128",
                                                                      "not supported"]),
    ("complex dtype name", lambda: Tensor([1.0], dtype="complex128"), TypeError,
     ["not a hograd dtype"]),
    ("uint8 array", lambda: Tensor(np.array([200], np.uint8)), TypeError,
     ["uint8 is not supported", "astype(np.int32)"]),
    ("int16 array", lambda: Tensor(np.array([2], np.int16)), TypeError,
     ["int16 is not supported", "dtype="]),
    ("set_data of another shape", lambda: param().set_data(np.ones(3)), ValueError,
     ["Parameter 'p'", "(3,)", "(2,)"]),
    ("ParameterTuple of a Tensor", lambda: ParameterTuple([matrix()]), TypeError,
     ["item 0 is a Tensor, not a Parameter"]),
    ("len of a 0-d tensor", lambda: len(Tensor(1.0)), TypeError, ["0-d"]),
    ("float of a matrix", lambda: float(matrix()), TypeError, ["float()", "one element",
                                                               "(2, 3)"]),
    ("item of a vector", lambda: vector().item(), TypeError, ["item()", "(3,)"]),
    ("if on a vector", lambda: bool(vector()), ValueError, ["ambiguous", ".any()", ".all()"]),
    ("float tensor as a list index", lambda: [0, 1, 2][Tensor(np.array(1.5))], TypeError,
     ["only integer tensors"]),
    # indexing
    ("index out of range", lambda: vector()[5], OpInputError, ["index 5", "axis 0 of size 3"]),
    ("too many indices", lambda: vector()[0, 0], OpInputError, ["too many indices (2)",
                                                               "rank 1"]),
    ("two ellipses", lambda: matrix()[..., ...], OpInputError, ["at most one Ellipsis"]),
    ("string index", lambda: vector()["a"], OpInputError, ["unsupported index 'a'"]),
    ("int tensor of indices", lambda: vector()[ints()], OpInputError,
     ["array of indices", "ops.Gather"]),
    ("bool mask", lambda: vector()[Tensor(np.array([True, False, True]))], OpInputError,
     ["boolean mask", "ops.Select"]),
    ("numpy index array", lambda: vector()[np.array([0, 1])], OpInputError, ["ops.Gather"]),
    ("bool after a separated int", lambda: matrix()[1, :, True], OpInputError,
     ["True/False", "two steps"]),
    # shapes
    ("reshape with two -1", lambda: matrix().reshape(-1, -1), OpInputError,
     ["Reshape", "at most one -1"]),
    ("reshape to the wrong size", lambda: matrix().reshape(4), OpInputError,
     ["Reshape", "6 elements", "(4,)"]),
    ("transpose that is not a permutation", lambda: matrix().transpose(0, 0), OpInputError,
     ["Transpose", "not a permutation"]),
    ("matmul of mismatched matrices", lambda: matrix() @ matrix(), OpInputError,
     ["MatMul", "contracted dimensions 3 and 2 differ", "device cpu"]),
    ("matmul of vectors", lambda: ops.MatMul()(vector(), vector()), OpInputError,
     ["MatMul", "2-D"]),
    ("add of unbroadcastable shapes", lambda: matrix() + Tensor(np.ones(4)), OpInputError,
     ["Add", "cannot be broadcast", "'y' (4,)"]),
    ("broadcast to fewer axes", lambda: ops.BroadcastTo((3,))(matrix()), OpInputError,
     ["BroadcastTo", "fewer dimensions"]),
    ("expand_dims out of range", lambda: ops.ExpandDims()(vector(), 5), OpInputError,
     ["ExpandDims", "axis 5"]),
    ("squeeze an axis of size 2", lambda: ops.Squeeze(0)(matrix()), OpInputError,
     ["Squeeze", "size 2, not 1"]),
    ("split into uneven parts", lambda: ops.Split(1, 2)(matrix()), OpInputError,
     ["Split", "cannot be split into 2"]),
    ("pad with negative widths", lambda: ops.Pad(((-1, 0), (0, 0)))(matrix()), OpInputError,
     ["Pad", "non-negative"]),
    ("concat of mismatched shapes", lambda: ops.Concat(0)((matrix(), vector())), OpInputError,
     ["Concat", "does not fit"]),
    ("concat of mixed dtypes",
     lambda: ops.Concat()((matrix(), Tensor(np.ones((2, 3), np.float32)))), OpDtypeError,
     ["Concat", "float32", "cast"]),
    ("concat of nothing", lambda: ops.Concat()(()), OpInputError, ["at least one tensor"]),
    ("concat called with a list and an axis", lambda: ops.Concat()([vector(), vector()], 0),
     OpInputError, ["one tuple or list", "ops.Concat(axis=0)((x, y))"]),
    ("Fill with a negative size", lambda: ops.Fill()(mstype.float32, (-1, 2), 1.0),
     OpInputError, ["Fill", "negative size"]),
    ("Fill with a string value", lambda: ops.Fill()(mstype.float32, (2,), "a"), OpInputError,
     ["Fill", "value"]),
    # attributes and op calls
    ("misspelled op class", lambda: ops.Sine, AttributeError, ["'Sine'", "did you mean Sin"]),
    ("misspelled op function", lambda: ops.sine, AttributeError, ["did you mean sin"]),
    ("numpy's keepdims", lambda: ops.ReduceSum(keepdims=True), OpInputError,
     ["keepdims", "did you mean keep_dims"]),
    ("numpy's keepdims in the function", lambda: ops.reduce_sum(matrix(), keepdims=True),
     OpInputError, ["keepdims", "keep_dims"]),
    ("too many positional attributes", lambda: ops.ReduceSum(True, 1, 2), OpInputError,
     ["at most 1 positional"]),
    ("an attribute given twice", lambda: ops.ReduceSum(True, keep_dims=False), OpInputError,
     ["'keep_dims' given twice"]),
    ("an attribute of the wrong type", lambda: ops.ReduceSum(keep_dims=1)(matrix()),
     OpInputError, ["ReduceSum", "keep_dims", "boolean"]),
    ("a repeated axis", lambda: ops.ReduceSum()(matrix(), (0, 0)), OpInputError,
     ["repeats an axis"]),
    ("an axis out of range", lambda: ops.ReduceSum()(vector(), 5), OpInputError,
     ["axis 5 is out of range", "rank 1"]),
    ("an op given too many tensors", lambda: ops.Sin()(vector(), vector()), OpInputError,
     ["Sin takes 1 tensor input", "got 2"]),
    ("a binary op given one tensor", lambda: ops.Add()(vector()), OpInputError,
     ["Add takes 2 inputs"]),
    ("a string as a tensor", lambda: ops.Sin()("a"), OpDtypeError,
     ["input 'x' must be a Tensor or a number", "str"]),
    ("None as a tensor", lambda: ops.Sin()(None), OpDtypeError, ["NoneType"]),
    ("a cast to complex", lambda: ops.Cast()(vector(), "complex64"), TypeError,
     ["not a hograd dtype"]),
    ("a float condition", lambda: ops.Select()(vector(), vector(), vector()), OpDtypeError,
     ["condition", "must be bool", "x > 0"]),
    ("float gather indices", lambda: ops.Gather()(vector(), Tensor(np.array([0.0])), 0),
     OpDtypeError, ["indices", "integer"]),
    ("softmax of integers", lambda: ops.Softmax()(ints()), OpInputError,
     ["Softmax", "float tensor", "int64"]),
    ("softmax axis out of range", lambda: ops.Softmax(5)(vector()), OpInputError, ["axis 5"]),
    ("einsum with ...", lambda: ops.Einsum("...i->i")((vector(),)), OpInputError,
     ["'...' is not supported"]),
    ("einsum names one prefix only", lambda: ops.Einsum("ij,jk->ik")((vector(), vector())),
     OpInputError, ["Einsum: operand 0 has rank 1"]),
    ("norm of p=3", lambda: ops.Norm(p=3)(vector()), OpInputError, ["p must be 1 or 2"]),
    ("sign of bools", lambda: ops.Sign()(bools()), OpDtypeError,
     ["Sign", "bool", "ops.Cast"]),
    ("square of bools", lambda: ops.Square()(bools()), OpDtypeError, ["Square", "bool"]),
    ("bools minus bools", lambda: bools() - bools(), OpInputError,
     ["Sub", "bool[2]", "device cpu"]),
    ("an integer to a negative power", lambda: ints() ** -1, OpInputError,
     ["Pow", "int64", "negative integer powers", "ops.Cast"]),
    ("a tracer-internal op", lambda: ops.Guard, AttributeError, ["'Guard'"]),
    ("an adjoint op", lambda: ops.GetItemAdjoint, AttributeError, ["'GetItemAdjoint'"]),
    # context
    ("an unknown mode", lambda: context.set_context(mode=5), ValueError,
     ["GRAPH_MODE", "PYNATIVE_MODE"]),
    ("an unknown device", lambda: context.set_context(device_target="TPU"),
     UnknownDeviceError, ["'TPU'", "cpu (CPU)"]),
    # gradients
    ("GradOperation given the function", lambda: Grad(ops.sin), GradArgumentError,
     ["options first and the function second", "GradOperation()(fn)"]),
    ("GradOperation of a number", lambda: Grad()(5), GradArgumentError,
     ["function or Cell", "int"]),
    ("get_all=1", lambda: Grad(get_all=1), GradArgumentError, ["True or False"]),
    ("get_by_list without weights", lambda: Grad(get_by_list=True)(lambda a: a),
     GradArgumentError, ["needs the weights"]),
    ("weights of Tensors", lambda: Grad(get_by_list=True)(lambda a: a, [matrix()]),
     GradArgumentError, ["Parameter"]),
    ("weights without get_by_list", lambda: Grad()(lambda a: a, ParameterTuple([param()])),
     GradArgumentError, ["get_by_list=False"]),
    ("a float as the only input", lambda: Grad()(ops.sin)(0.5), GradArgumentError,
     ["no Tensor input", "float", "Tensor(0.5)"]),
    ("a function returning a number", lambda: Grad()(lambda a: 1.0)(vector()), TracingError,
     ["returned no Tensor"]),
    ("sens missing", lambda: Grad(sens_param=True)(lambda a: a * 2.0)(vector()),
     GradArgumentError, ["sens", "pass sens last"]),
    ("sens missing in a nested gradient",
     lambda: Grad(sens_param=True)(Grad()(lambda a: a * a * a))(vector()), GradArgumentError,
     ["the gradient of <lambda>", "pass sens last"]),
    ("sens of the wrong shape",
     lambda: Grad(sens_param=True)(lambda a: a * 2.0)(vector(), Tensor(np.ones(2))),
     GradArgumentError, ["sens[0] has shape (2,)", "(3,)"]),
    ("sens of the wrong structure",
     lambda: Grad(sens_param=True)(lambda a: a * 2.0)(vector(), (vector(), vector())),
     GradArgumentError, ["sens must mirror", "a tuple of 2"]),
    ("a set argument", lambda: Grad()(lambda a, s: a)(vector(), {1, 2}), TracingError,
     ["a set cannot be an argument"]),
    ("the gradient through Sign", lambda: Grad()(ops.sign)(vector()), NotDifferentiableError,
     ["Sign", "not differentiable", "ops.stop_gradient"]),
    ("float() of the input being differentiated",
     lambda: Grad()(lambda a: a * float(a[0]))(vector()), ConcreteReadError,
     ["float()", "ops.stop_gradient"]),
    ("asnumpy() of the input being differentiated",
     lambda: Grad()(lambda a: a * a.asnumpy()[0])(vector()), ConcreteReadError,
     ["asnumpy()"]),
    ("a bprop returning a number", lambda: Grad()(BpropReturningANumber())(vector()),
     GradArgumentError, ["BpropReturningANumber.bprop", "one gradient per input"]),
    # cells
    ("a Cell without super().__init__()", lambda: WithoutSuperInit(), AttributeError,
     ["super().__init__()"]),
    ("a Cell without construct", lambda: WithoutConstruct()(vector()), NotImplementedError,
     ["must define construct"]),
    # training, checkpoints and the functional transforms
    ("a SequentialCell index out of range", lambda: nn.SequentialCell([nn.Tanh()])[5],
     IndexError, ["SequentialCell", "index 5", "1 cells"]),
    ("a learning rate that is a string",
     lambda: nn.Adam([param()], learning_rate="a"), ValueError, ["Adam", "learning_rate"]),
    ("a checkpoint that does not exist",
     lambda: hograd.load_checkpoint("/nonexistent/model.ckpt"), CheckpointError,
     ["no checkpoint file"]),
    ("grad of a non-Tensor position", lambda: hograd.grad(lambda a, b: a * b, 1)(vector(), 2.0),
     GradArgumentError, ["argument 1", "not a Tensor"]),
]


@pytest.mark.parametrize("what, call, error, words", MISUSE, ids=[m[0] for m in MISUSE])
def test_misuse_gets_a_clear_error(what, call, error, words):
    with pytest.raises(error) as raised:
        call()
    message = str(raised.value)
    missing = [w for w in words if w not in message]
    assert not missing, f"{what}: message lacks {missing}: {message}"


def test_the_table_is_large_enough():
    assert len(MISUSE) >= 60


def test_an_absent_device_says_why(scratch_registry):
    from hograd.core.device import DeviceSpec
    scratch_registry.add_device(DeviceSpec(name="tpu", present=False,
                                           absent_reason="no TPU runtime here"), "test")
    with pytest.raises(DeviceAbsentError, match="'tpu' is registered but absent on this "
                                                "machine: no TPU runtime here"):
        context.set_context(device_target="tpu")


def test_a_plain_npz_is_not_taken_for_a_checkpoint(tmp_path):
    path = tmp_path / "weights.npz"
    np.savez(path, w=np.ones(2))
    with pytest.raises(CheckpointError, match="not a hograd checkpoint"):
        hograd.load_checkpoint(str(path))
