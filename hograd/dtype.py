"""Element types of hograd tensors: ``float16 float32 float64 int32 int64 bool_``.

Import it the MindSpore way: ``from hograd import dtype as mstype``; ``mstype.float32``.
Each dtype is a singleton, so ``a.dtype == mstype.float32`` and ``is`` both work.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "DType", "float16", "float32", "float64", "int32", "int64", "bool_",
    "from_numpy", "to_dtype", "promote", "default_for_python",
]


class DType:
    """One element type: its name, its numpy dtype and its category (float, int or bool)."""

    __slots__ = ("name", "numpy", "category", "bits")

    def __init__(self, name: str, numpy_dtype: type, category: str) -> None:
        self.name = name
        self.numpy = np.dtype(numpy_dtype)
        self.category = category
        self.bits = self.numpy.itemsize * 8

    @property
    def is_float(self) -> bool:
        return self.category == "float"

    @property
    def is_integer(self) -> bool:
        return self.category == "int"

    def __repr__(self) -> str:
        # MindSpore spells dtypes this way when it prints tensors.
        return "Bool" if self.category == "bool" else self.name.capitalize()

    def __reduce__(self):
        return (to_dtype, (self.name,))


float16 = DType("float16", np.float16, "float")
float32 = DType("float32", np.float32, "float")
float64 = DType("float64", np.float64, "float")
int32 = DType("int32", np.int32, "int")
int64 = DType("int64", np.int64, "int")
bool_ = DType("bool", np.bool_, "bool")

ALL = (float16, float32, float64, int32, int64, bool_)
_BY_NUMPY = {d.numpy: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL} | {"bool_": bool_, "float": float32, "int": int64}
_CATEGORY_RANK = {"bool": 0, "int": 1, "float": 2}


def from_numpy(numpy_dtype) -> DType:
    """The hograd dtype of a numpy dtype; a clear error for one hograd does not support.

    Narrow and unsigned integers are refused rather than widened: uint8 200 + 100 wraps to 44 in
    its own arithmetic and would silently give 300 as int64.
    """
    key = np.dtype(numpy_dtype)
    try:
        return _BY_NUMPY[key]
    except KeyError:
        pass
    supported = ", ".join(d.name for d in ALL)
    if key.kind in "iu":
        raise TypeError(
            f"integer dtype {key} is not supported by hograd (supported: {supported}); widening "
            f"it silently would change its arithmetic (overflow, wrap-around), so convert it "
            f"yourself: array.astype(np.int32) or np.int64, or pass dtype= to Tensor") from None
    raise TypeError(f"numpy dtype {key} is not supported by hograd; use one of {supported} "
                    f"(convert with array.astype(...))") from None


def to_dtype(value) -> DType:
    """Accept a DType, a name such as ``'float32'``, or anything numpy reads as a dtype."""
    if isinstance(value, DType):
        return value
    if isinstance(value, str) and value in _BY_NAME:
        return _BY_NAME[value]
    try:
        return from_numpy(np.dtype(value))
    except TypeError as err:
        raise TypeError(f"{value!r} is not a hograd dtype: {err}") from None


def promote(*dtypes: DType) -> DType:
    """The common dtype of mixed inputs, as PyTorch does it: bool < int < float, then the widest.

    int64 and float32 give float32 (not numpy's float64), so integer data never silently doubles
    the precision of a float32 network.
    """
    top = max(_CATEGORY_RANK[d.category] for d in dtypes)
    candidates = [d for d in dtypes if _CATEGORY_RANK[d.category] == top]
    return max(candidates, key=lambda d: d.bits)


def default_for_python(value) -> DType:
    """The dtype a bare Python value gets: floats float32 (as in MindSpore), ints int64, bools bool."""
    if isinstance(value, (bool, np.bool_)):
        return bool_
    if isinstance(value, (int, np.integer)):
        return int64
    return float32
