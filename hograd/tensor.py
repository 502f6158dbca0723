"""``Tensor``, ``Parameter`` and ``ParameterTuple``: the values users hold.

A tensor holds an array of its device's array module (numpy on the CPU). While a function is
being traced, tensors also carry the graph variable they stand for; operators and ``ops.*``
calls go through the dispatcher, which computes values and records nodes as needed.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from . import dtype as dt
from .core.errors import ConcreteReadError, TracingError
from .core.ir import AbstractValue, ConstValue
from .core.trace import carries_derivative, current_trace, next_birth


def _host_array(data: Any, dtype: dt.DType | None) -> np.ndarray:
    """A host array of the data that shares no memory with it: the caller's array may change."""
    if isinstance(data, Tensor):
        array = data.asnumpy()
    elif isinstance(data, np.ndarray):
        array = np.array(data, copy=True)
    else:
        if data is None:
            raise TypeError("Tensor(data): data is required (a number, nested list or array)")
        array = np.asarray(data)
        if dtype is None and array.dtype.kind == "f":
            # Python floats default to float32, as in MindSpore
            array = array.astype(np.float32)
    if dtype is not None:
        return np.asarray(array, dtype=dt.to_dtype(dtype).numpy)
    dt.from_numpy(array.dtype)  # a clear error for unsupported dtypes
    return array


class Tensor:
    """An n-d array on a device. ``Tensor([[1., 2.]], dtype=mstype.float32)``.

    Supports ``+ - * / ** @``, unary ``-``, comparisons, indexing and slicing, ``asnumpy()``,
    ``shape``, ``dtype``, ``ndim``, ``size``; prints like the numpy array it holds.
    """

    __slots__ = ("_data", "_aval", "_device", "_trace", "_var", "_birth", "__weakref__")
    __array_priority__ = 1000  # numpy defers to Tensor's reflected operators

    def __init__(self, input_data: Any = None, dtype: Any = None) -> None:
        from .context import current_device
        array = _host_array(input_data, dtype)
        device = input_data._device if isinstance(input_data, Tensor) else current_device()
        self._device = device
        self._data = device.to_device(array)
        self._aval = AbstractValue(tuple(array.shape), dt.from_numpy(array.dtype))
        self._trace = None
        self._var = None
        self._birth = next_birth()

    @classmethod
    def _traced(cls, data, aval: AbstractValue, device, trace, var) -> "Tensor":
        tensor = cls.__new__(cls)
        tensor._data = data
        tensor._aval = aval
        tensor._device = device
        tensor._trace = trace
        tensor._var = var
        tensor._birth = next_birth()
        return tensor

    # ---- metadata ------------------------------------------------------------------------------
    @property
    def aval(self) -> AbstractValue:
        return self._aval

    @property
    def shape(self) -> tuple[int, ...]:
        return self._aval.shape

    @property
    def dtype(self) -> dt.DType:
        return self._aval.dtype

    @property
    def ndim(self) -> int:
        return len(self._aval.shape)

    @property
    def size(self) -> int:
        return self._aval.size

    @property
    def device(self) -> str:
        return self._device.name

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]

    __hash__ = object.__hash__

    # ---- reading values ------------------------------------------------------------------------
    def _concrete(self, why: str, *, as_number: bool = True) -> np.ndarray:
        """The host value, for a read by Python code.

        Inside a trace the read is recorded as a guard, so a later run that sees another value
        is traced again. A read that turns the value into a Python number or numpy array
        (``as_number``) is refused where a derivative flows through the tensor: the number would
        be a constant to the derivative and the result silently wrong. ``bool()`` and indices
        only choose a branch, so they stay guards.
        """
        if self._data is None:
            raise TracingError(
                f"{why} needs a value, but this tensor is symbolic (it stands for a graph "
                f"variable while a derivative graph is built). Backward rules must not branch "
                f"on values; use ops.Select instead.")
        trace = current_trace()
        if trace is not None and as_number and carries_derivative(self):
            raise ConcreteReadError(
                f"{why} reads a tensor that depends on what is being differentiated; the Python "
                f"value it gives is a constant to the derivative, so the derivative would be "
                f"silently wrong. Compute with hograd ops on the tensor instead (ops.sin(x), not "
                f"math.sin(float(x))), or read ops.stop_gradient(x) if a constant is what you "
                f"mean.")
        host = self._device.to_host(self._data)
        if trace is not None:
            # the trace took a decision on this value: record it, so a later run that sees a
            # different value is traced again instead of reusing this branch
            from .core.dispatch import apply
            apply("Guard", (self,), {"expected": ConstValue(host)})
        return host

    def asnumpy(self) -> np.ndarray:
        """The values as a numpy array (a copy on the host)."""
        return np.array(self._concrete("asnumpy()"), copy=True)

    def item(self):
        return self._scalar("item()").item()

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                             f"reduce it first: (x > 0).any() or (x > 0).all(), or compare one "
                             f"element")
        return bool(self._concrete("bool() (an if/while on a tensor)", as_number=False))

    def __float__(self) -> float:
        return float(self._scalar("float()"))

    def __int__(self) -> int:
        return int(self._scalar("int()"))

    def _scalar(self, why: str, *, as_number: bool = True):
        if self.size != 1:
            raise TypeError(f"{why} needs a tensor of one element, this one has shape {self.shape}")
        return self._concrete(why, as_number=as_number).reshape(-1)[0]

    def __index__(self) -> int:
        if self.dtype.category != "int":
            raise TypeError(f"only integer tensors can be used as an index, not {self.dtype}")
        return int(self._scalar("an index", as_number=False))

    def __array__(self, dtype=None, copy=None):
        array = self.asnumpy()
        return array if dtype is None else array.astype(dtype)

    def __str__(self) -> str:
        if self._data is None:
            return f"Tensor(shape={list(self.shape)}, dtype={self.dtype!r}, symbolic)"
        return str(self._device.to_host(self._data))

    def __repr__(self) -> str:
        if self._data is None:
            return str(self)
        return (f"Tensor(shape={list(self.shape)}, dtype={self.dtype!r}, "
                f"value={self._device.to_host(self._data)})")

    # ---- operators (each is one registered op) ----------------------------------------------
    def __add__(self, other): return _apply("Add", (self, other))
    def __radd__(self, other): return _apply("Add", (other, self))
    def __sub__(self, other): return _apply("Sub", (self, other))
    def __rsub__(self, other): return _apply("Sub", (other, self))
    def __mul__(self, other): return _apply("Mul", (self, other))
    def __rmul__(self, other): return _apply("Mul", (other, self))
    def __truediv__(self, other): return _apply("RealDiv", (self, other))
    def __rtruediv__(self, other): return _apply("RealDiv", (other, self))
    def __pow__(self, other): return _apply("Pow", (self, other))
    def __rpow__(self, other): return _apply("Pow", (other, self))
    def __matmul__(self, other): return _matmul(self, other)
    def __rmatmul__(self, other): return _matmul(other, self)
    def __floordiv__(self, other): return _apply("FloorDiv", (self, other))
    def __rfloordiv__(self, other): return _apply("FloorDiv", (other, self))
    def __mod__(self, other): return _apply("FloorMod", (self, other))
    def __rmod__(self, other): return _apply("FloorMod", (other, self))
    def __abs__(self): return _apply("Abs", (self,))
    def __neg__(self): return _apply("Neg", (self,))
    def __pos__(self): return self
    def __lt__(self, other): return _apply("Less", (self, other))
    def __le__(self, other): return _apply("LessEqual", (self, other))
    def __gt__(self, other): return _apply("Greater", (self, other))
    def __ge__(self, other): return _apply("GreaterEqual", (self, other))
    def __eq__(self, other): return _apply("Equal", (self, other))  # type: ignore[override]
    def __ne__(self, other): return _apply("NotEqual", (self, other))  # type: ignore[override]

    def __getitem__(self, index) -> "Tensor":
        from .ops.reshaping import bool_index_as_steps, normalize_index
        plain, empty = bool_index_as_steps(index, self.shape)
        out = _apply("GetItem", (self,), {"index": normalize_index(plain, self.shape)})
        if empty:
            emptied = tuple(slice(0, 0) if axis in empty else slice(None)
                            for axis in range(out.ndim))
            out = _apply("GetItem", (out,), {"index": normalize_index(emptied, out.shape)})
        return out

    # ---- a few methods, as in MindSpore ---------------------------------------------------------
    def astype(self, dtype) -> "Tensor":
        return _apply("Cast", (self,), {"dtype": dt.to_dtype(dtype)})

    def reshape(self, *shape) -> "Tensor":
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _apply("Reshape", (self,), {"shape": tuple(int(s) for s in shape)})

    def sum(self, axis=None, keepdims: bool = False) -> "Tensor":
        return _apply("ReduceSum", (self,), {"axis": axis, "keep_dims": keepdims})

    def any(self, axis=None, keep_dims: bool = False) -> "Tensor":
        """Whether any element (along ``axis``) is true (non-zero): a bool tensor."""
        return self._count(self._truth(), axis, keep_dims) > 0

    def all(self, axis=None, keep_dims: bool = False) -> "Tensor":
        """Whether every element (along ``axis``) is true (non-zero): a bool tensor."""
        return self._count(_apply("Equal", (self._truth(), False)), axis, keep_dims) == 0

    def _truth(self) -> "Tensor":
        return self if self.dtype is dt.bool_ else _apply("NotEqual", (self, 0))

    @staticmethod
    def _count(flags: "Tensor", axis, keep_dims: bool) -> "Tensor":
        return _apply("ReduceSum", (flags,), {"axis": axis, "keep_dims": keep_dims})

    def mean(self, axis=None, keep_dims: bool = False) -> "Tensor":
        return _apply("ReduceMean", (self,), {"axis": axis, "keep_dims": keep_dims})

    def transpose(self, *perm) -> "Tensor":
        if not perm:
            perm = tuple(reversed(range(self.ndim)))
        elif len(perm) == 1 and isinstance(perm[0], (tuple, list)):
            perm = tuple(perm[0])
        return _apply("Transpose", (self,), {"perm": tuple(perm)})

    @property
    def T(self) -> "Tensor":
        return self.transpose()

    def max(self, axis=None, keepdims: bool = False) -> "Tensor":
        """The largest element (along ``axis``)."""
        return _apply("ReduceMax", (self,), {"axis": axis, "keep_dims": keepdims})

    def min(self, axis=None, keepdims: bool = False) -> "Tensor":
        """The smallest element (along ``axis``)."""
        return _apply("ReduceMin", (self,), {"axis": axis, "keep_dims": keepdims})

    def argmax(self, axis=None, keepdims: bool = False) -> "Tensor":
        """The index of the largest element (along ``axis``; None: of the flattened tensor)."""
        return _apply("Argmax", (self,), {"axis": axis, "keep_dims": keepdims})

    def argmin(self, axis=None, keepdims: bool = False) -> "Tensor":
        """The index of the smallest element (along ``axis``; None: of the flattened tensor)."""
        return _apply("Argmin", (self,), {"axis": axis, "keep_dims": keepdims})

    def abs(self) -> "Tensor":
        return _apply("Abs", (self,))

    def tolist(self):
        """The values as (nested) Python numbers, as ``numpy.ndarray.tolist``."""
        return self.asnumpy().tolist()

    # ---- pickling and copying: the host values, never the device or a trace ---------------------
    def __reduce__(self):
        return _rebuild_tensor, (self._picklable_value(), self.device)

    def _picklable_value(self) -> np.ndarray:
        if self._data is None or self._trace is not None:
            raise TypeError("a tensor that stands for a graph variable (inside a trace) cannot "
                            "be pickled or copied; pickle the values outside the traced "
                            "function")
        return np.array(self._device.to_host(self._data), copy=True)

    def __deepcopy__(self, memo) -> "Tensor":
        rebuild, args = self.__reduce__()
        return rebuild(*args)


class Parameter(Tensor):
    """A named, trainable tensor owned by a Cell: ``Parameter(Tensor(...), name='w')``.

    Graphs read a Parameter's current value on every run, so ``set_data`` takes effect without
    retracing.
    """

    __slots__ = ("name", "requires_grad")

    def __init__(self, default_input: Any, name: str | None = None,
                 requires_grad: bool = True) -> None:
        super().__init__(default_input)
        self.name = name
        self.requires_grad = bool(requires_grad)

    def set_data(self, data: Any) -> "Parameter":
        """Replace the value; the shape and dtype must stay (compiled graphs rely on them)."""
        array = _host_array(data, self.dtype)
        if tuple(array.shape) != self.shape:
            raise ValueError(f"Parameter {self.name!r}: set_data got shape {array.shape}, the "
                             f"parameter has {self.shape}; create a new Parameter to change it")
        self._data = self._device.to_device(array)
        return self

    @property
    def data(self) -> "Parameter":
        return self

    def __reduce__(self):
        return _rebuild_parameter, (self._picklable_value(), self.device, self.name,
                                    self.requires_grad)

    def __repr__(self) -> str:
        return f"Parameter(name={self.name!r}, shape={list(self.shape)}, dtype={self.dtype!r}, " \
               f"requires_grad={self.requires_grad})"


class ParameterTuple(tuple):
    """An immutable tuple of Parameters, as ``GradOperation(get_by_list=True)`` expects."""

    def __new__(cls, params: Iterable[Parameter]) -> "ParameterTuple":
        params = tuple(params)
        for index, param in enumerate(params):
            if not isinstance(param, Parameter):
                raise TypeError(f"ParameterTuple item {index} is a {type(param).__name__}, "
                                f"not a Parameter")
        return super().__new__(cls, params)


def _matmul(a, b) -> Tensor:
    """``a @ b`` as numpy does it: matrices, batches of matrices (broadcast), and vectors."""
    a_rank = a.ndim if isinstance(a, Tensor) else np.ndim(a)
    b_rank = b.ndim if isinstance(b, Tensor) else np.ndim(b)
    if a_rank == 2 and b_rank == 2:
        return _apply("MatMul", (a, b))
    if a_rank == 0 or b_rank == 0:
        raise ValueError("matmul: an operand is a scalar (0-d); use * for scaling")
    if not isinstance(a, Tensor):
        a = Tensor(a)
    if not isinstance(b, Tensor):
        b = Tensor(b)
    # a vector is a matrix of one row (on the left) or one column (on the right), and that
    # axis is dropped from the result, as numpy does
    left = a.reshape(1, -1) if a_rank == 1 else a
    right = b.reshape(-1, 1) if b_rank == 1 else b
    op = "MatMul" if left.ndim == 2 and right.ndim == 2 else "BatchMatMul"
    out = _apply(op, (left, right))
    if a_rank == 1:
        out = out.reshape(out.shape[:-2] + out.shape[-1:])
    if b_rank == 1:
        out = out.reshape(out.shape[:-1])
    return out


def _rebuild_tensor(array: np.ndarray, device: str) -> Tensor:
    """Unpickling: a Tensor of ``array`` on the device named ``device``, or on the current
    device when that one is not here."""
    from .core.errors import HogradError
    from .core.registry import registry
    tensor = Tensor(array)
    if device != tensor.device:
        try:
            target = registry().device(device)
        except HogradError:  # unknown or absent here: the values still load, where we are
            return tensor
        tensor._device, tensor._data = target, target.to_device(array)
    return tensor


def _rebuild_parameter(array: np.ndarray, device: str, name, requires_grad: bool) -> Parameter:
    tensor = _rebuild_tensor(array, device)
    return Parameter(tensor, name=name, requires_grad=requires_grad)


from .core.dispatch import apply as _apply  # noqa: E402  (dispatch needs Tensor defined first)
