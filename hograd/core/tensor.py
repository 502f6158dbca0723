"""``Tensor``, ``Parameter`` and ``ParameterTuple``: the values users hold.

A tensor holds an array of its device's array module (numpy on the CPU). While a function is
being traced, tensors also carry the graph variable they stand for; ``ops.*`` calls (and the
operators the op library binds to Tensor) go through the dispatcher, which computes values and
records nodes as needed. A tensor of a concrete trace holds its value *deferred*
(``core/deferred.py``): it is computed when something reads ``_data``.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .. import dtype as dt
from .deferred import Deferred
from .errors import ConcreteReadError, TracingError
from .ir import AbstractValue, ConstValue
from .trace import carries_derivative, current_trace, next_birth


def _host_array(data: Any, dtype: dt.DType | None) -> np.ndarray:
    """A host array of the data that shares no memory with it: the caller's array may change."""
    if isinstance(data, Tensor):
        array = data.asnumpy()
    elif isinstance(data, (np.ndarray, np.generic)):
        # numpy scalars keep their dtype too: np.float64(0.5) is float64, not a Python float
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

    # _value: an array, a Deferred (computed on first read of _data) or None (symbolic)
    __slots__ = ("_value", "_aval", "_device", "_trace", "_var", "_birth", "__weakref__")
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
        tensor._value = data
        tensor._aval = aval
        tensor._device = device
        tensor._trace = trace
        tensor._var = var
        tensor._birth = next_birth()
        return tensor

    @property
    def _data(self) -> Any:
        """The device array (None for a symbolic tensor); a deferred value is computed now."""
        value = self._value
        if type(value) is Deferred:
            value = self._value = value.get()
        return value

    @_data.setter
    def _data(self, array: Any) -> None:
        self._value = array

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
        if self._value is None:
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
            from .dispatch import apply
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

    # Operators and methods (``x + y``, ``x[0]``, ``x.sum()``) are each one op of the op
    # library, which binds them (hograd/ops/tensor_methods.py): core names no library op.
    def __pos__(self) -> "Tensor":
        return self

    def tolist(self):
        """The values as (nested) Python numbers, as ``numpy.ndarray.tolist``."""
        return self.asnumpy().tolist()

    # ---- pickling and copying: the host values, never the device or a trace ---------------------
    def __reduce__(self):
        return _rebuild_tensor, (self._picklable_value(), self.device)

    def _picklable_value(self) -> np.ndarray:
        if self._trace is not None or self._data is None:
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


def _rebuild_tensor(array: np.ndarray, device: str) -> Tensor:
    """Unpickling: a Tensor of ``array`` on the device named ``device``, or on the current
    device when that one is not here."""
    from .errors import HogradError
    from .registry import registry
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
