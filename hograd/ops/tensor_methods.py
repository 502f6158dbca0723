"""Tensor's operators and methods, each one op of this library: ``x + y`` is ``Add``, ``x[0]``
is ``GetItem``, ``x.sum()`` is ``ReduceSum``. Core's Tensor knows no op; importing ``hograd.ops``
binds these onto it (as JAX's array methods are attached by its numpy layer)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtype as dt
from ..core.dispatch import apply
from ..core.indexing import bool_index_as_steps, normalize_index
from ..core.tensor import Tensor


def _binary(op: str, *, reflected: bool = False):
    if reflected:
        return lambda self, other: apply(op, (other, self))
    return lambda self, other: apply(op, (self, other))


def matmul(a, b) -> Tensor:
    """``a @ b`` as numpy does it: matrices, batches of matrices (broadcast), and vectors."""
    a_rank = a.ndim if isinstance(a, Tensor) else np.ndim(a)
    b_rank = b.ndim if isinstance(b, Tensor) else np.ndim(b)
    if a_rank == 2 and b_rank == 2:
        return apply("MatMul", (a, b))
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
    out = apply(op, (left, right))
    if a_rank == 1:
        out = out.reshape(out.shape[:-2] + out.shape[-1:])
    if b_rank == 1:
        out = out.reshape(out.shape[:-1])
    return out


OPERATORS = {
    "__add__": _binary("Add"), "__radd__": _binary("Add", reflected=True),
    "__sub__": _binary("Sub"), "__rsub__": _binary("Sub", reflected=True),
    "__mul__": _binary("Mul"), "__rmul__": _binary("Mul", reflected=True),
    "__truediv__": _binary("RealDiv"), "__rtruediv__": _binary("RealDiv", reflected=True),
    "__pow__": _binary("Pow"), "__rpow__": _binary("Pow", reflected=True),
    "__matmul__": lambda self, other: matmul(self, other),
    "__rmatmul__": lambda self, other: matmul(other, self),
    "__floordiv__": _binary("FloorDiv"), "__rfloordiv__": _binary("FloorDiv", reflected=True),
    "__mod__": _binary("FloorMod"), "__rmod__": _binary("FloorMod", reflected=True),
    "__abs__": lambda self: apply("Abs", (self,)),
    "__lt__": _binary("Less"), "__le__": _binary("LessEqual"),
    "__gt__": _binary("Greater"), "__ge__": _binary("GreaterEqual"),
    "__eq__": _binary("Equal"), "__ne__": _binary("NotEqual"),
    "__neg__": lambda self: apply("Neg", (self,)),
}


def getitem(self: Tensor, index: Any) -> Tensor:
    """Basic indexing and slicing, and numpy's ``True``/``False`` (an axis of length 1 or 0)."""
    plain, empty = bool_index_as_steps(index, self.shape)
    out = apply("GetItem", (self,), {"index": normalize_index(plain, self.shape)})
    if empty:
        emptied = tuple(slice(0, 0) if axis in empty else slice(None) for axis in range(out.ndim))
        out = apply("GetItem", (out,), {"index": normalize_index(emptied, out.shape)})
    return out


def astype(self: Tensor, dtype: Any) -> Tensor:
    """The tensor converted to ``dtype``."""
    return apply("Cast", (self,), {"dtype": dt.to_dtype(dtype)})


def reshape(self: Tensor, *shape: Any) -> Tensor:
    """The same elements in a new shape: ``x.reshape(2, -1)`` or ``x.reshape((2, -1))``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return apply("Reshape", (self,), {"shape": tuple(int(s) for s in shape)})


def tensor_sum(self: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The sum over ``axis`` (all axes by default); over bools, the count in int64."""
    return apply("ReduceSum", (self,), {"axis": axis, "keep_dims": keepdims})


def mean(self: Tensor, axis: Any = None, keep_dims: bool = False) -> Tensor:
    """The mean over ``axis`` (all axes by default)."""
    return apply("ReduceMean", (self,), {"axis": axis, "keep_dims": keep_dims})


def _truth(self: Tensor) -> Tensor:
    return self if self.dtype is dt.bool_ else apply("NotEqual", (self, 0))


def tensor_any(self: Tensor, axis: Any = None, keep_dims: bool = False) -> Tensor:
    """Whether any element (along ``axis``) is true (non-zero): a bool tensor."""
    count = apply("ReduceSum", (_truth(self),), {"axis": axis, "keep_dims": keep_dims})
    return count > 0


def tensor_all(self: Tensor, axis: Any = None, keep_dims: bool = False) -> Tensor:
    """Whether every element (along ``axis``) is true (non-zero): a bool tensor."""
    falses = apply("Equal", (_truth(self), False))
    return apply("ReduceSum", (falses,), {"axis": axis, "keep_dims": keep_dims}) == 0


def transpose(self: Tensor, *perm: Any) -> Tensor:
    """Axes permuted (reversed when no permutation is given)."""
    if not perm:
        perm = tuple(reversed(range(self.ndim)))
    elif len(perm) == 1 and isinstance(perm[0], (tuple, list)):
        perm = tuple(perm[0])
    return apply("Transpose", (self,), {"perm": tuple(perm)})


def tensor_max(self, axis=None, keepdims: bool = False) -> "Tensor":
    """The largest element (along ``axis``)."""
    return apply("ReduceMax", (self,), {"axis": axis, "keep_dims": keepdims})

def tensor_min(self, axis=None, keepdims: bool = False) -> "Tensor":
    """The smallest element (along ``axis``)."""
    return apply("ReduceMin", (self,), {"axis": axis, "keep_dims": keepdims})

def argmax(self, axis=None, keepdims: bool = False) -> "Tensor":
    """The index of the largest element (along ``axis``; None: of the flattened tensor)."""
    return apply("Argmax", (self,), {"axis": axis, "keep_dims": keepdims})

def argmin(self, axis=None, keepdims: bool = False) -> "Tensor":
    """The index of the smallest element (along ``axis``; None: of the flattened tensor)."""
    return apply("Argmin", (self,), {"axis": axis, "keep_dims": keepdims})

def tensor_abs(self) -> "Tensor":
    return apply("Abs", (self,))


METHODS = {
    **OPERATORS, "__getitem__": getitem, "astype": astype, "reshape": reshape,
    "sum": tensor_sum, "mean": mean, "any": tensor_any, "all": tensor_all,
    "transpose": transpose, "T": property(lambda self: transpose(self)),
    "max": tensor_max, "min": tensor_min, "argmax": argmax, "argmin": argmin, "abs": tensor_abs,
}


def bind_methods() -> None:
    """Give Tensor its operators and methods (done once, when ``hograd.ops`` is imported)."""
    for name, method in METHODS.items():
        setattr(Tensor, name, method)
    # __eq__ is an op, so Tensor keeps identity hashing explicitly
    Tensor.__hash__ = object.__hash__
