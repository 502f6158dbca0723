"""Kernels written once against an array namespace ``xp`` (numpy on the CPU).

``kernels_for(xp)`` returns ``{op name: kernel}``; a device plugin binds it to its array module
and overrides only what differs. Kernels take arrays and the op's attributes as keywords, and
return one array of the dtype the op's shape rule states.
"""
from __future__ import annotations

from typing import Callable

from ..ops.families import normalize_axes
from ..ops.reshaping import numpy_index


def kernels_for(xp) -> dict[str, Callable]:
    """Every built-in op's kernel on the array module ``xp``."""

    def axes(x, axis):
        return normalize_axes(axis, x.ndim)

    def sigmoid(x):
        # tanh form: no overflow for large |x|, unlike 1 / (1 + exp(-x))
        return (xp.tanh(x * 0.5) + 1) * 0.5

    def softmax(x, *, axis):
        shifted = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
        return shifted / xp.sum(shifted, axis=axis, keepdims=True)

    def matmul(a, b, *, transpose_a, transpose_b):
        return xp.matmul(a.T if transpose_a else a, b.T if transpose_b else b)

    def reduce_sum(x, *, axis, keep_dims):
        return xp.sum(x, axis=axes(x, axis), keepdims=keep_dims, dtype=x.dtype)

    def reduce_mean(x, *, axis, keep_dims):
        return xp.mean(x, axis=axes(x, axis), keepdims=keep_dims)

    def broadcast_to(x, *, shape):
        lead = len(shape) - x.ndim
        target = tuple(x.shape[i - lead] if s == -1 and i >= lead else s
                       for i, s in enumerate(shape))
        return xp.broadcast_to(x, target)

    def get_item_adjoint(g, *, index, shape):
        out = xp.zeros(shape, dtype=g.dtype)
        out[numpy_index(index)] = g
        return out

    table: dict[str, Callable] = {
        "Neg": xp.negative, "Square": xp.square, "Exp": xp.exp, "Log": xp.log,
        "Sqrt": xp.sqrt, "Reciprocal": lambda x: 1 / x, "Sin": xp.sin, "Cos": xp.cos,
        "Tan": xp.tan, "Sinh": xp.sinh, "Cosh": xp.cosh, "Atanh": xp.atanh, "Sign": xp.sign,
        "Tanh": xp.tanh, "Sigmoid": sigmoid, "ReLU": lambda x: xp.maximum(x, 0),
        "Softmax": softmax,
        "Add": xp.add, "Sub": xp.subtract, "Mul": xp.multiply, "RealDiv": xp.divide,
        "Pow": xp.pow,
        "MatMul": matmul, "ReduceSum": reduce_sum, "ReduceMean": reduce_mean,
        "Reshape": lambda x, *, shape: xp.reshape(x, shape),
        "Transpose": lambda x, *, perm: xp.permute_dims(x, perm),
        "ExpandDims": lambda x, *, axis: xp.expand_dims(x, axis=axis),
        "BroadcastTo": broadcast_to,
        "GetItem": lambda x, *, index: x[numpy_index(index)],
        "GetItemAdjoint": get_item_adjoint,
        "Fill": lambda *, dtype, shape, value: xp.full(shape, value, dtype=dtype.numpy),
        "ZerosLike": xp.zeros_like, "OnesLike": xp.ones_like,
        "Equal": xp.equal, "NotEqual": xp.not_equal, "Less": xp.less,
        "LessEqual": xp.less_equal, "Greater": xp.greater, "GreaterEqual": xp.greater_equal,
        "Select": xp.where, "Cast": lambda x, *, dtype: xp.astype(x, dtype.numpy),
        "StopGradient": lambda x: x,
    }
    return {name: _returns_array(xp, kernel) for name, kernel in table.items()}


def _returns_array(xp, kernel: Callable) -> Callable:
    # numpy gives 0-d results as scalars; graphs and tensors hold arrays
    def kernel_returning_array(*args, **attrs):
        return xp.asarray(kernel(*args, **attrs))
    kernel_returning_array.__wrapped__ = kernel
    return kernel_returning_array
