"""Kernels for array modules with numpy's API (numpy, cupy) beyond what the array API
standard allows: kernels that write their result into an array they are given (``out=``), and
Gather's adjoint as a scatter-add.

The array API standard has no ``out=``, so every kernel there returns a new array; on the CPU a
new array of 128 KiB or more is a fresh ``mmap`` that page-faults in as it is first written,
which made most of a small graph's time (ten 256×64 products of a PINN step: 25 µs each, 5 µs
into a warm buffer). A kernel here is ``kernel(*arrays, out=None, **attrs)``: with ``out`` it
fills and returns that array (of the result's shape and dtype); without, it returns a new array
exactly as the standard kernel of the op would. The executor's memory plan (``core/buffers.py``)
hands these kernels buffers it keeps from call to call.
"""
from __future__ import annotations

import math
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


def writing_kernels(xp, sequential_sum_limit: dict | None = None,
                    middle_sums: bool = False) -> dict[str, Callable]:
    """``{op name: kernel taking out=}`` on the array module ``xp`` (numpy or cupy).

    A sum over the leading or trailing axes of a contiguous float array is a matrix product
    with a vector of ones: BLAS's gemv is 4–9× faster than numpy's own reduction for the shapes
    derivatives make (a column sum of a (256, 64) batch, the sum over the 3 coordinates of 8192
    pair vectors), and on a GPU cuBLAS beats a generic reduction that leaves most of the chip
    idle. With ``middle_sums``, a sum over middle axes with few elements after them (a
    (4, 64, 32, 8) sum over the 32 neighbours) is a product with stacked identity matrices,
    redone by the plain sum where an inf or NaN met the identities' zeros (inf·0 is NaN). A product may add in sequence, where numpy adds pairwise, so
    ``sequential_sum_limit`` (``{dtype: longest sum}``, unlimited by default) keeps long
    float32 sums on the pairwise path where rounding would grow.
    """
    limits = sequential_sum_limit or {}
    ones_cache: dict = {}

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

    def ones(length, dtype):
        vector = ones_cache.get((length, dtype))
        if vector is None:
            vector = ones_cache[(length, dtype)] = xp.ones(length, dtype=dtype)
        return vector

    def summing_matrix(blocks, width, dtype):
        # [I; I; …; I]: (blocks·width, width), the sum of ``blocks`` rows of ``width``
        matrix = ones_cache.get((blocks, width, dtype))
        if matrix is None:
            matrix = ones_cache[(blocks, width, dtype)] = xp.tile(
                xp.eye(width, dtype=dtype), (blocks, 1))
        return matrix

    def reduce_sum(x, out=None, *, axis, keep_dims):
        if out is not None and not out.flags.c_contiguous:
            # the paths below write through reshapes of out: views only of a C-ordered one
            out[...] = reduce_sum(x, axis=axis, keep_dims=keep_dims)
            return out
        axes = normalize_axes(axis, x.ndim)
        block = _summed_block(x, axes, xp, limits, middle_sums)
        if block is not None:
            before, reduced, after = block
            if axes == (x.ndim - 1,) and reduced <= _SLICED_SUM_LENGTH:
                # a few trailing elements (a vector's 3 coordinates): added slice by slice
                target = out if out is not None else xp.empty(
                    tuple(1 if i in axes else n for i, n in enumerate(x.shape)) if keep_dims
                    else x.shape[:-1], dtype=x.dtype)
                flat = xp.reshape(target, x.shape[:-1])
                flat.fill(0)   # from +0, as numpy's sum: -0.0 + -0.0 sums to 0.0
                for k in range(reduced):
                    xp.add(flat, x[..., k], out=flat)
                return target
            if after == 1:      # trailing axes: (before, reduced) @ ones, a gemv
                summed = xp.matmul(xp.reshape(x, (before, reduced)), ones(reduced, x.dtype),
                                   out=None if out is None else xp.reshape(out, (before,)))
            elif before == 1:   # leading axes: ones @ (reduced, after), a gemv
                summed = xp.matmul(ones(reduced, x.dtype), xp.reshape(x, (reduced, after)),
                                   out=None if out is None else xp.reshape(out, (after,)))
            else:               # middle axes, few elements after them: [I; I; …] sums rows
                with xp.errstate(invalid="ignore"):
                    summed = xp.matmul(
                        xp.reshape(x, (before, reduced * after)),
                        summing_matrix(reduced, after, x.dtype),
                        out=None if out is None else xp.reshape(out, (before, after)))
                if not xp.isfinite(summed).all():
                    summed[...] = xp.reshape(xp.sum(x, axis=axes, dtype=x.dtype),
                                             (before, after))
            if out is not None:
                return out
            shape = (tuple(1 if i in axes else n for i, n in enumerate(x.shape)) if keep_dims
                     else tuple(n for i, n in enumerate(x.shape) if i not in axes))
            return xp.reshape(summed, shape)
        # sums of bools count, in int64
        dtype = xp.int64 if x.dtype == xp.bool_ else x.dtype
        return as_array(xp.sum(x, axis=axes, keepdims=keep_dims, dtype=dtype, out=out))

    def batch_matmul(a, b, out=None, *, transpose_a, transpose_b):
        a = xp.swapaxes(a, -1, -2) if transpose_a else a
        b = xp.swapaxes(b, -1, -2) if transpose_b else b
        if a.ndim == 2 and b.ndim == 3:
            # one matrix against a batch: numpy loops over the batch; one product with the
            # batch laid side by side is 2x faster: A (m, k) @ [B₀ … B_n] (k, n·p)
            count, inner, width = b.shape
            side_by_side = xp.reshape(xp.moveaxis(b, 0, 1), (inner, count * width))
            product = xp.reshape(xp.matmul(a, side_by_side), (a.shape[0], count, width))
            product = xp.moveaxis(product, 1, 0)
            if out is None:
                return xp.ascontiguousarray(product)
            out[...] = product
            return out
        return as_array(xp.matmul(a, b, out=out))

    def gather(params, indices, out=None, *, axis):
        if out is not None and not out.flags.c_contiguous:
            out[...] = gather(params, indices, axis=axis)   # take writes through a reshape
            return out
        axis %= params.ndim
        shape = params.shape[:axis] + indices.shape + params.shape[axis + 1:]
        flat = xp.reshape(indices, (-1,))
        if out is None:
            return xp.reshape(xp.take(params, flat, axis=axis), shape)
        # numpy's take wraps negative indices as Gather does; out is C-contiguous
        xp.take(params, flat, axis=axis,
                out=xp.reshape(out, params.shape[:axis] + flat.shape + params.shape[axis + 1:]))
        return out

    def select(condition, x, y, out=None):
        if out is None:
            return as_array(xp.where(condition, x, y))
        xp.copyto(out, y)
        xp.copyto(out, x, where=condition)
        return out

    def cast(x, out=None, *, dtype):
        if out is None:
            native = getattr(xp, dtype.name, None) or getattr(xp, dtype.name + "_")
            return x.astype(native)
        xp.copyto(out, x, casting="unsafe")
        return out

    def fill(out=None, *, dtype, shape, value):
        if out is None:
            native = getattr(xp, dtype.name, None) or getattr(xp, dtype.name + "_")
            return xp.full(shape, value, dtype=native)
        out.fill(value)
        return out

    table = {name: ufunc_kernel(getattr(xp, ufunc)) for name, ufunc in _UFUNCS.items()}
    table |= {"Reciprocal": reciprocal, "Rsqrt": rsqrt, "Sigmoid": sigmoid, "ReLU": relu,
              "MatMul": matmul, "BatchMatMul": batch_matmul, "ReduceSum": reduce_sum,
              "Gather": gather, "Select": select, "Cast": cast, "Fill": fill}
    return table


# a sum over middle axes multiplies by an (n·w, w) matrix: worth it while w is this small
_MIDDLE_SUM_WIDTH = 16
# a sum over a last axis this short adds its slices (gemv is slower on so few columns)
_SLICED_SUM_LENGTH = 4


def _summed_block(x, axes: tuple[int, ...], xp, limits: dict, middle_sums: bool):
    """``(before, reduced, after)`` element counts when ``axes`` are one run of consecutive
    axes of the contiguous float array ``x`` whose sum a matrix product computes, else None."""
    if not axes or len(axes) == x.ndim or x.dtype not in (xp.float32, xp.float64):
        return None
    if not x.flags.c_contiguous or axes != tuple(range(axes[0], axes[-1] + 1)):
        return None
    before = math.prod(x.shape[:axes[0]])
    reduced = math.prod(x.shape[axes[0]:axes[-1] + 1])
    after = math.prod(x.shape[axes[-1] + 1:])
    limit = limits.get(xp.dtype(x.dtype).name)
    if not (before and reduced and after) or (limit is not None and reduced > limit):
        return None
    if before > 1 and after > 1 and (not middle_sums or after > _MIDDLE_SUM_WIDTH):
        return None
    return before, reduced, after


def gather_adjoint_by(xp, scatter_add):
    """Gather's adjoint as a scatter-add of the gradient's rows into zeros, on the array module
    ``xp`` with ``scatter_add(summed, flat_indices, rows)``: the array-API kernel builds a
    one-hot matrix of n × len(indices), which dominated force-training steps."""

    def gather_adjoint(g, indices, *, axis, shape):
        axis %= len(shape)
        rows = xp.moveaxis(g, tuple(range(axis, axis + indices.ndim)),
                           tuple(range(indices.ndim)))
        rows = rows.reshape((indices.size,) + rows.shape[indices.ndim:])
        summed = xp.zeros((shape[axis],) + rows.shape[1:], dtype=g.dtype)
        if indices.size:
            scatter_add(summed, indices.reshape(-1) % shape[axis], rows)
        return xp.moveaxis(summed, 0, axis)
    return gather_adjoint
