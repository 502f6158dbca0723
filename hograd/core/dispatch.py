"""Applying an op: validate, promote, infer the output, compute it on the device, record it.

``apply`` is the single door every op call goes through — ``ops.Sin()(x)``, ``x * y``, backward
rules, and the replay of graphs into an enclosing trace. Eagerly it runs the kernel; inside a
concrete trace it records a node and defers the kernel until the value is read
(``core/deferred.py``); inside a symbolic trace it only records.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .. import dtype as dt
from .deferred import Deferred
from .errors import (GuardFailure, HogradError, KernelContractError, OpDtypeError,
                     OpInputError)
from .ir import freeze_attrs
from .opdef import OpDef
from .registry import registry
from .roles import role
from .trace import current_trace, grad_depth


def where(depth: int | None = None, traced: bool | None = None) -> str:
    """Where an error happened, for messages: eagerly, or while deriving which order (by
    default here and now; a deferred kernel passes the depth and tracing it was applied at)."""
    depth = grad_depth() if depth is None else depth
    if depth == 0:
        traced = current_trace() is not None if traced is None else traced
        return "while tracing" if traced else "eagerly"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(depth if depth < 20 else depth % 10, "th")
    return f"while building a {depth}{suffix}-order derivative"


def apply(op: str | OpDef, inputs: Sequence[Any], attrs: Mapping[str, Any] | None = None,
          *, validated: bool = False):
    """Apply ``op`` to tensors (or Python numbers) with attributes; return the output Tensor."""
    from .tensor import Tensor
    opdef = op if isinstance(op, OpDef) else registry().op(op)
    attrs = dict(attrs or {})
    if not validated:
        attrs = opdef.make_attrs(attrs)
    if not opdef.variadic and len(inputs) != len(opdef.inputs):
        raise OpInputError(f"{opdef.name} takes {len(opdef.inputs)} inputs "
                           f"({', '.join(opdef.inputs)}), got {len(inputs)}")
    if opdef.composite is not None:
        return opdef.composite(*inputs, **attrs)
    tensors = _as_tensors(opdef, inputs)
    device = tensors[0]._device if tensors else _default_device()
    for index, tensor in enumerate(tensors):
        if tensor._device is not device:
            raise OpInputError(f"{opdef.name}: input '{input_name(opdef, index)}' is on device "
                               f"{tensor.device} but input '{input_name(opdef, 0)}' is on "
                               f"{device.name}; move one of them")
    try:
        out_aval = opdef.infer(*(t._aval for t in tensors), **attrs)
    except OpInputError as err:
        raise type(err)(f"{opdef.name}: {err} (device {device.name}, {where()})") from None
    trace = current_trace()
    data = None
    if trace is None:
        datas = [t._data for t in tensors]
        if all(d is not None for d in datas):
            data = compute(opdef, device, attrs, out_aval, tensors, where, *datas)
        return Tensor._traced(data, out_aval, device, None, None)
    values = [t._value for t in tensors]
    if not trace.symbolic and all(v is not None for v in values):
        # a concrete trace computes a value only when something reads it (core/deferred.py)
        context = functools.partial(where, grad_depth(), True)
        data = Deferred(functools.partial(compute, opdef, device, attrs, out_aval,
                                          [t._aval for t in tensors], context), values)
    var = trace.record(opdef.name, [trace.var_of(t) for t in tensors], freeze_attrs(attrs),
                       out_aval, opdef)
    return Tensor._traced(data, out_aval, device, trace, var)


def compute(opdef: OpDef, device, attrs: Mapping[str, Any], out_aval, inputs: Sequence[Any],
            context: Callable[[], str], *datas):
    """The op's kernel on ``datas``; its failures and broken contracts named. For messages:
    ``inputs``, the input tensors or their abstract values, and ``context()``, where the op was
    applied (``where``)."""
    kernel = registry().kernel(opdef.name, device.name)
    try:
        data = kernel(*datas, **attrs)
    except (HogradError, GuardFailure):
        raise
    except Exception as err:
        raise _kernel_failure(opdef, device, inputs, err, context()) from err
    _check_kernel_result(opdef, device, data, out_aval)
    return data


def _kernel_failure(opdef: OpDef, device, inputs: Sequence[Any], err: Exception,
                    context: str) -> OpInputError:
    """A kernel that raised on inputs the shape rule let through: say which op, on what."""
    described = ", ".join(f"'{input_name(opdef, i)}' {t.dtype.name}{list(t.shape)}"
                          for i, t in enumerate(inputs)) or "no tensor inputs"
    return OpInputError(
        f"{opdef.name}: cannot be computed for {described} on device {device.name} "
        f"({type(err).__name__}: {err}) ({context}). Check the values and dtypes: integer and "
        f"bool inputs follow their own arithmetic; cast to a float dtype with "
        f"ops.Cast()(x, mstype.float32) for real-number results")


_dtype_names: dict = {}


def _check_kernel_result(opdef: OpDef, device, data, expected) -> None:
    """A kernel must return what the shape rule promised; say whose kernel did not.

    Checked wherever the dispatcher computes a value: eagerly, and each traced value something
    reads; a compiled run checks its outputs once (``compiled.run_executable``)."""
    dtype = getattr(data, "dtype", None)
    # keyed with its type: dtypes of different array libraries are never compared
    key = (type(dtype), dtype)
    dtype_name = "?" if dtype is None else _dtype_names.get(key)
    if dtype_name is None:
        # str() of a numpy dtype costs a microsecond, a tenth of an eager op: named once each
        dtype_name = _dtype_names[key] = str(dtype).rsplit(".", 1)[-1]
    shape = tuple(getattr(data, "shape", ()))
    if shape != expected.shape or dtype_name != expected.dtype.name:
        provider = registry().kernel_provider.get((opdef.name, device.name), "a generic kernel")
        raise KernelContractError(
            f"the {opdef.name} kernel on device {device.name} (from plugin {provider!r}) returned "
            f"{dtype_name}{list(shape)} where the op's shape rule gives {expected.dtype.name}"
            f"{list(expected.shape)}; the kernel must return the dtype and shape of the rule")


def input_name(opdef: OpDef, index: int) -> str:
    if opdef.variadic:
        return f"{opdef.inputs[0]}[{index}]"
    return opdef.inputs[index]


def _default_device():
    from .context import current_device
    return current_device()


def _as_tensors(opdef: OpDef, inputs: Sequence[Any]) -> list:
    """Turn Python numbers into tensors and apply the op's dtype promotion."""
    from .tensor import Tensor
    if all(isinstance(x, Tensor) for x in inputs):
        dtypes = {x._aval.dtype for x in inputs}
        if len(dtypes) <= 1 and (opdef.promotion != "float" or all(d.is_float for d in dtypes)):
            return list(inputs)  # the common case: nothing to convert or promote
    promoted = (range(len(inputs)) if opdef.promoted_inputs is None
                else opdef.promoted_inputs)
    if opdef.promotion == "none":
        return [x if isinstance(x, Tensor) else _scalar_tensor(opdef, i, x, None)
                for i, x in enumerate(inputs)]
    tensor_dtypes = [inputs[i].dtype for i in promoted if isinstance(inputs[i], Tensor)]
    scalar_dtypes = [dt.default_for_python(inputs[i]) for i in promoted
                     if not isinstance(inputs[i], Tensor)]
    if tensor_dtypes:
        target = dt.promote(*tensor_dtypes)
        # Python numbers are weakly typed: they take the tensors' dtype unless they are of a
        # higher category (2.5 with an int tensor gives float32, as in PyTorch)
        for scalar in scalar_dtypes:
            if dt.promote(target, scalar).category != target.category:
                target = dt.float32 if scalar.is_float else scalar
    else:
        target = dt.promote(*scalar_dtypes)
    if opdef.promotion == "float" and not target.is_float:
        target = dt.float32
    out = []
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            x = _scalar_tensor(opdef, i, x, target if i in promoted else None)
        elif i in promoted and x.dtype is not target:
            x = apply(role("cast"), (x,), {"dtype": target}, validated=True)
        out.append(x)
    return out


def _scalar_tensor(opdef: OpDef, index: int, value: Any, dtype):
    from .tensor import Tensor
    if not isinstance(value, (int, float, bool, np.number, np.bool_, np.ndarray)):
        raise OpDtypeError(f"{opdef.name}: input '{input_name(opdef, index)}' must be a Tensor or a "
                           f"number, got {type(value).__name__} ({where()})")
    return Tensor(value, dtype=dtype)
