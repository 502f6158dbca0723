"""Matrix products."""
from __future__ import annotations

from pydantic import StrictBool

from ..core.errors import OpInputError
from ..core.ir import AbstractValue
from ..core.opdef import OpDef, StrictAttrs
from .call import F
from .families import same_dtype


class MatMulAttrs(StrictAttrs):
    transpose_a: StrictBool = False
    transpose_b: StrictBool = False


def _matmul_infer(a: AbstractValue, b: AbstractValue, *, transpose_a: bool,
                  transpose_b: bool) -> AbstractValue:
    dtype = same_dtype(("a", "b"), a, b)
    if a.ndim != 2 or b.ndim != 2:
        raise OpInputError(f"inputs must be 2-D matrices, got 'a' of shape {a.shape} and 'b' of "
                           f"shape {b.shape} (reshape, or use a batched product)")
    rows, inner_a = a.shape[::-1] if transpose_a else a.shape
    inner_b, cols = b.shape[::-1] if transpose_b else b.shape
    if inner_a != inner_b:
        raise OpInputError(
            f"'a' of shape {a.shape} (transpose_a={transpose_a}) and 'b' of shape {b.shape} "
            f"(transpose_b={transpose_b}) do not fit: contracted dimensions {inner_a} and "
            f"{inner_b} differ")
    return AbstractValue((rows, cols), dtype)


# With A = op(a), B = op(b) and out = A @ B: dA = g Bᵀ and dB = Aᵀ g; the transposes fold into
# the flags of further MatMuls, so no Transpose node is needed at any order.
def _matmul_grad_a(g, out, a, b, *, transpose_a, transpose_b):
    if transpose_a:
        return F.matmul(b, g, transpose_a=transpose_b, transpose_b=True)
    return F.matmul(g, b, transpose_a=False, transpose_b=not transpose_b)


def _matmul_grad_b(g, out, a, b, *, transpose_a, transpose_b):
    if transpose_b:
        return F.matmul(g, a, transpose_a=True, transpose_b=transpose_a)
    return F.matmul(a, g, transpose_a=not transpose_a, transpose_b=False)


OPS = [
    OpDef(name="MatMul", inputs=("a", "b"), infer=_matmul_infer, attributes=MatMulAttrs,
          backward=(_matmul_grad_a, _matmul_grad_b), functional="matmul",
          doc="matrix product op(a) @ op(b), op transposing when transpose_a/transpose_b"),
]
