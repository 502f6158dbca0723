"""Kernels that write their result into an array they are given, for array modules whose
functions take ``out=`` (numpy; cupy follows the same signatures).

The array API standard has no ``out=``, so every kernel there returns a new array; on the CPU a
new array of 128 KiB or more is a fresh ``mmap`` that page-faults in as it is first written,
which made most of a small graph's time (ten 256×64 products of a PINN step: 25 µs each, 5 µs
into a warm buffer). A kernel here is ``kernel(*arrays, out=None, **attrs)``: with ``out`` it
fills and returns that array (of the result's shape and dtype); without, it returns a new array
exactly as the standard kernel of the op would. The executor's memory plan (``core/buffers.py``)
hands these kernels buffers it keeps from call to call.
"""
from __future__ import annotations

from typing import Callable

from ..core.indexing import normalize_axes

# ops that are one ufunc of the same name in numpy and cupy
_UFUNCS = {"Neg": "negative", "Square": "square", "Exp": "exp", "Log": "log", "Sqrt": "sqrt",
           "Sin": "sin", "Cos": "cos", "Tan": "tan", "Sinh": "sinh", "Cosh": "cosh",
           "Tanh": "tanh", "Atanh": "arctanh", "Abs": "absolute", "Asin": "arcsin",
           "Acos": "arccos", "Atan": "arctan", "Asinh": "arcsinh", "Acosh": "arccosh",
           "Log1p": "log1p", "Expm1": "expm1",
           "Add": "add", "Sub": "subtract", "Mul": "multiply", "RealDiv": "divide",
           "Maximum": "maximum", "Minimum": "minimum", "Atan2": "arctan2"}


def writing_kernels(xp) -> dict[str, Callable]:
    """``{op name: kernel taking out=}`` on the array module ``xp`` (numpy or cupy)."""

    def as_array(result):
        # numpy gives 0-d results as scalars; graphs and tensors hold arrays
        return result if isinstance(result, xp.ndarray) else xp.asarray(result)

    def ufunc_kernel(ufunc):
        def kernel(*arrays, out=None):
            return as_array(ufunc(*arrays, out=out))
        return kernel

    def reciprocal(x, out=None):
        return as_array(xp.divide(1, x, out=out))

    # kernels of several ufuncs work in the array they return (a new one when none is given)
    def rsqrt(x, out=None):
        out = xp.sqrt(x, out=xp.empty_like(x) if out is None else out)
        return xp.divide(1, out, out=out)

    def sigmoid(x, out=None):
        # the tanh form of the standard kernel: no overflow for large |x|
        out = xp.multiply(x, 0.5, out=xp.empty_like(x) if out is None else out)
        xp.tanh(out, out=out)
        xp.add(out, 1, out=out)
        return xp.multiply(out, 0.5, out=out)

    def relu(x, out=None):
        return as_array(xp.maximum(x, 0, out=out, dtype=x.dtype))

    def matmul(a, b, out=None, *, transpose_a, transpose_b):
        return as_array(xp.matmul(a.T if transpose_a else a, b.T if transpose_b else b, out=out))

    def reduce_sum(x, out=None, *, axis, keep_dims):
        # sums of bools count, in int64
        dtype = xp.int64 if x.dtype == xp.bool_ else x.dtype
        return as_array(xp.sum(x, axis=normalize_axes(axis, x.ndim), keepdims=keep_dims,
                               dtype=dtype, out=out))

    def fill(out=None, *, dtype, shape, value):
        if out is None:
            native = getattr(xp, dtype.name, None) or getattr(xp, dtype.name + "_")
            return xp.full(shape, value, dtype=native)
        out.fill(value)
        return out

    table = {name: ufunc_kernel(getattr(xp, ufunc)) for name, ufunc in _UFUNCS.items()}
    table |= {"Reciprocal": reciprocal, "Rsqrt": rsqrt, "Sigmoid": sigmoid, "ReLU": relu,
              "MatMul": matmul, "ReduceSum": reduce_sum, "Fill": fill}
    return table
