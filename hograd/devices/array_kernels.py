"""Kernels written once against an array namespace ``xp``: numpy, cupy, torch (through
array-api-compat), or anything that follows the Python array API standard.

``kernels_for(xp)`` returns ``{op name: kernel}`` using only the standard. The few ops the
standard lacks come from each device's *native table* (``{op name: function}``: today ``Erf``,
``Erfc`` and ``Einsum``), which ``device_kernels(device, xp, native)`` lays over the standard
ones; a new op without an array-API kernel is one more entry in each device's native table.
Kernels take arrays and the op's attributes as keywords and return one array of the dtype the
op's shape rule states.
"""
from __future__ import annotations

import math
from typing import Callable

from ..core.indexing import indexed_shape, normalize_axes, numpy_index, without_newaxes


def kernels_for(xp) -> dict[str, Callable]:
    """Every built-in op's kernel on the array module ``xp``."""

    def axes(x, axis):
        return normalize_axes(axis, x.ndim)

    def native(dtype):
        # hograd dtype names are the standard's names: xp.float32, xp.bool, …
        return getattr(xp, dtype.name, None) or getattr(xp, dtype.name + "_")

    def sigmoid(x):
        # tanh form: no overflow for large |x|, unlike 1 / (1 + exp(-x))
        return (xp.tanh(x * 0.5) + 1) * 0.5

    def softmax(x, *, axis):
        if x.size == 0:  # nothing to normalize (max has no identity)
            return xp.zeros_like(x)
        shifted = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
        return shifted / xp.sum(shifted, axis=axis, keepdims=True)

    def matmul(a, b, *, transpose_a, transpose_b):
        return xp.matmul(a.T if transpose_a else a, b.T if transpose_b else b)

    def counted(x):
        # sums and products of bools count, in int64
        return xp.int64 if x.dtype == xp.bool else x.dtype

    def reduce_sum(x, *, axis, keep_dims):
        return xp.sum(x, axis=axes(x, axis), keepdims=keep_dims, dtype=counted(x))

    def reduce_mean(x, *, axis, keep_dims):
        return xp.mean(x, axis=axes(x, axis), keepdims=keep_dims)

    def broadcast_to(x, *, shape):
        lead = len(shape) - x.ndim
        target = tuple(x.shape[i - lead] if s == -1 and i >= lead else s
                       for i, s in enumerate(shape))
        return xp.broadcast_to(x, target)

    # new axes (None) are reshapes, so the index itself stays within what the standard
    # specifies for every namespace: ints and slices naming every axis
    def get_item(x, *, index):
        picked = x[numpy_index(without_newaxes(index))]
        return xp.reshape(picked, indexed_shape(x.shape, index))

    def get_item_adjoint(g, *, index, shape):
        plain = without_newaxes(index)
        out = xp.zeros(shape, dtype=g.dtype)
        out[numpy_index(plain)] = xp.reshape(g, indexed_shape(shape, plain))
        return out

    def logsumexp(x, *, axis, keep_dims):
        axes_ = axes(x, axis)
        top = xp.max(x, axis=axes_, keepdims=True)
        top = xp.where(xp.isfinite(top), top, xp.zeros_like(top))
        out = xp.log(xp.sum(xp.exp(x - top), axis=axes_, keepdims=True)) + top
        return out if keep_dims else xp.reshape(out, tuple(
            s for i, s in enumerate(x.shape) if i not in axes_))

    def log_softmax(x, *, axis):
        if x.size == 0:
            return xp.zeros_like(x)
        shifted = x - xp.max(x, axis=axis, keepdims=True)
        return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))

    def softplus(x):
        # log(1 + eˣ) = max(x, 0) + log1p(e^-|x|): no overflow
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def elu(x, *, alpha):
        return xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0)))

    def batch_matmul(a, b, *, transpose_a, transpose_b):
        return xp.matmul(xp.matrix_transpose(a) if transpose_a else a,
                         xp.matrix_transpose(b) if transpose_b else b)

    def cumsum(x, *, axis, exclusive, reverse):
        axis %= x.ndim
        if reverse:
            x = xp.flip(x, axis=axis)
        out = xp.cumulative_sum(x, axis=axis, include_initial=exclusive, dtype=counted(x))
        if exclusive:
            out = xp.take(out, xp.arange(x.shape[axis]), axis=axis)
        return xp.flip(out, axis=axis) if reverse else out

    def gather(params, indices, *, axis):
        axis %= params.ndim
        flat = xp.take(params, xp.reshape(indices, (-1,)), axis=axis)
        return xp.reshape(flat, params.shape[:axis] + indices.shape + params.shape[axis + 1:])

    def gather_adjoint(g, indices, *, axis, shape):
        # sum g into the gathered rows through a one-hot product: array-API only, no scatter
        axis %= len(shape)
        n = shape[axis]
        flat_indices = xp.reshape(indices, (-1,)) % n
        onehot = xp.astype(flat_indices[:, None] == xp.arange(n)[None, :], g.dtype)
        moved = xp.moveaxis(g, tuple(range(axis, axis + indices.ndim)),
                            tuple(range(indices.ndim)))
        rest = moved.shape[indices.ndim:]
        # the row width spelled out: -1 cannot be inferred when there are no indices
        rows = xp.reshape(moved, (flat_indices.shape[0], math.prod(rest)))
        summed = xp.reshape(xp.matmul(xp.matrix_transpose(onehot), rows), (n,) + rest)
        return xp.moveaxis(summed, 0, axis)

    def concat(*xs, axis):
        return xp.concat(xs, axis=axis)

    table: dict[str, Callable] = {
        "Neg": xp.negative, "Square": xp.square, "Exp": xp.exp, "Log": xp.log,
        "Sqrt": xp.sqrt, "Reciprocal": lambda x: 1 / x, "Sin": xp.sin, "Cos": xp.cos,
        "Tan": xp.tan, "Sinh": xp.sinh, "Cosh": xp.cosh, "Atanh": xp.atanh, "Sign": xp.sign,
        "Tanh": xp.tanh, "Sigmoid": sigmoid, "ReLU": lambda x: xp.maximum(x, 0),
        "Softmax": softmax,
        "Add": xp.add, "Sub": xp.subtract, "Mul": xp.multiply, "RealDiv": xp.divide,
        "FloorDiv": xp.floor_divide,
        "Pow": xp.pow,
        "MatMul": matmul, "ReduceSum": reduce_sum, "ReduceMean": reduce_mean,
        "Reshape": lambda x, *, shape: xp.reshape(x, shape),
        "Transpose": lambda x, *, perm: xp.permute_dims(x, perm),
        "ExpandDims": lambda x, *, axis: xp.expand_dims(x, axis=axis),
        "BroadcastTo": broadcast_to,
        "GetItem": get_item,
        "GetItemAdjoint": get_item_adjoint,
        "Fill": lambda *, dtype, shape, value: xp.full(shape, value, dtype=native(dtype)),
        "ZerosLike": xp.zeros_like, "OnesLike": xp.ones_like,
        "Equal": xp.equal, "NotEqual": xp.not_equal, "Less": xp.less,
        "LessEqual": xp.less_equal, "Greater": xp.greater, "GreaterEqual": xp.greater_equal,
        "Select": xp.where, "Cast": lambda x, *, dtype: xp.astype(x, native(dtype)),
        "StopGradient": lambda x: x,
        "Abs": xp.abs, "Asin": xp.asin, "Acos": xp.acos, "Atan": xp.atan, "Asinh": xp.asinh,
        "Acosh": xp.acosh, "Log1p": xp.log1p, "Expm1": xp.expm1,
        "Rsqrt": lambda x: 1 / xp.sqrt(x), "Softplus": softplus,
        "LogSigmoid": lambda x: -softplus(-x), "Elu": elu, "LogSoftmax": log_softmax,
        "Maximum": xp.maximum, "Minimum": xp.minimum,
        "SquaredDifference": lambda x, y: xp.square(x - y), "Atan2": xp.atan2,
        "LogSumExp": logsumexp,
        "ReduceMax": lambda x, *, axis, keep_dims: xp.max(x, axis=axes(x, axis),
                                                          keepdims=keep_dims),
        "ReduceMin": lambda x, *, axis, keep_dims: xp.min(x, axis=axes(x, axis),
                                                          keepdims=keep_dims),
        "CumSum": cumsum, "BatchMatMul": batch_matmul, "Concat": concat,
        "Gather": gather, "GatherAdjoint": gather_adjoint,
    }
    table |= rounding_kernels(xp) | arg_kernels(xp) | linalg_kernels(xp)
    return {name: _returns_array(xp, kernel) for name, kernel in table.items()}


# ---- kernels of the ops of ops/rounding.py, ops/indexing_extra.py, ops/dense_linalg.py ---------
def rounding_kernels(xp) -> dict:
    """The kernels of these ops on the array module ``xp``."""
    def fmod(x, y):
        # the floored remainder moved to the sign of x: exact for integers and floats alike
        floored = xp.remainder(x, y)
        moved = (floored != 0) & ((floored < 0) != (x < 0))
        return xp.where(moved, floored - y, floored)

    def floor(x):
        return x if not xp.isdtype(x.dtype, "real floating") else xp.floor(x)

    return {"Floor": floor, "FloorMod": xp.remainder, "Mod": fmod}


def arg_kernels(xp) -> dict:
    """The kernels of Argmax and Argmin on the array module ``xp``."""
    def arg(find):
        def kernel(x, *, axis, output_type, keep_dims):
            native = getattr(xp, output_type.name)
            if axis is None:
                index = find(xp.reshape(x, (-1,)))
                return xp.reshape(xp.astype(index, native), (1,) * x.ndim if keep_dims else ())
            if x.ndim == 0:
                return xp.astype(xp.zeros((), dtype=xp.int64), native)
            return xp.astype(find(x, axis=axis, keepdims=keep_dims), native)
        return kernel

    return {"Argmax": arg(xp.argmax), "Argmin": arg(xp.argmin)}


def linalg_kernels(xp) -> dict:
    """The kernels of these ops on the array module ``xp`` (its ``linalg`` extension)."""
    linalg = xp.linalg

    def symmetric(x):
        return (x + xp.matrix_transpose(x)) * 0.5

    def cholesky(x, *, upper):
        lower = linalg.cholesky(symmetric(x))
        return xp.matrix_transpose(lower) if upper else lower

    def solve(matrix, rhs, *, adjoint):
        return linalg.solve(xp.matrix_transpose(matrix) if adjoint else matrix, rhs)

    return {"MatrixInverse": linalg.inv, "MatrixSolve": solve, "Cholesky": cholesky,
            "MatrixDeterminant": linalg.det,
            "LogAbsDeterminant": lambda x: linalg.slogdet(x)[1]}


# native ops the standard cannot express, and the kernels built on them
NATIVE_OPS = ("Erf", "Erfc", "Einsum")


def native_kernels(xp, native: dict[str, Callable]) -> dict[str, Callable]:
    """A device's native table as kernels, with what derives from it (GeLU from Erf).

    ``native["Erf"]``/``["Erfc"]`` map an array to one of the same dtype;
    ``native["Einsum"](*arrays, equation=...)``.
    """
    table = dict(native)
    if "Erf" in native:
        erf = native["Erf"]
        table["GeLU"] = lambda x: x * 0.5 * (erf(x * 0.7071067811865476) + 1)
    return {name: _returns_array(xp, kernel) for name, kernel in table.items()}


def _returns_array(xp, kernel: Callable) -> Callable:
    # numpy gives 0-d results as scalars; graphs and tensors hold arrays
    def kernel_returning_array(*args, **attrs):
        return xp.asarray(kernel(*args, **attrs))
    kernel_returning_array.__wrapped__ = kernel
    return kernel_returning_array


def device_kernels(device: str, xp, native: dict[str, Callable],
                   writing: dict[str, Callable] | None = None) -> list:
    """Every built-in op's kernel for ``device``: the array-API kernels bound to ``xp``, with
    the device's native table (``NATIVE_OPS``) laid over them, and over those the kernels that
    write into a given array (``writing``, see ``writing_kernels.py``)."""
    from ..core.device import KernelSpec
    table = kernels_for(xp) | native_kernels(xp, native)
    writing = writing or {}
    return [KernelSpec(op=name, device=device, fn=fn) for name, fn in table.items()
            if name not in writing] + [
        KernelSpec(op=name, device=device, fn=fn, writes_into=True)
        for name, fn in writing.items()]
