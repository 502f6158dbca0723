"""Dense linear algebra of square matrices: inverse, solve, Cholesky, determinants.

Each backward rule is written with hograd ops (products, transposes, these ops themselves),
so every derivative is again a graph of registered ops and differentiates to any order:

- ``inv(A)``:            Ā = -inv(A)ᵀ Ḡ inv(A)ᵀ
- ``solve(A, B) = X``:   B̄ = solve(Aᵀ, Ḡ), Ā = -B̄ Xᵀ  (``adjoint``: Aᵀ X = B, roles swap)
- ``det(A)``:            Ā = Ḡ det(A) inv(A)ᵀ
- ``log|det A|``:        Ā = Ḡ inv(A)ᵀ
- ``cholesky(A) = L``:   Ā = sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹), Φ the lower triangle with half diagonal

Matrices are 2-D; kernels (devices/array_kernels.py) come from the device's ``xp.linalg`` (the array API's linalg
extension: numpy, cupy, torch through array-api-compat and array_api_strict all have it).
"""
from __future__ import annotations

import numpy as np
from pydantic import StrictBool

from ..core.errors import OpInputError
from ..core.ir import AbstractValue
from ..core.opdef import OpDef, StrictAttrs
from ..core.checkspec import checks, fixed, sample
from .call import F


def _square_float(a: AbstractValue, name: str = "x") -> None:
    if not a.dtype.is_float:
        raise OpInputError(f"input '{name}' must be a float matrix, got {a.dtype.name}; cast it "
                           f"with ops.Cast()(x, mstype.float32)")
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise OpInputError(f"input '{name}' must be a square 2-D matrix, got shape {a.shape}")


def _square_infer(x: AbstractValue, **_) -> AbstractValue:
    _square_float(x)
    return x


def _scalar_infer(x: AbstractValue) -> AbstractValue:
    _square_float(x)
    return AbstractValue((), x.dtype)


class SolveAttrs(StrictAttrs):
    adjoint: StrictBool = False


class CholeskyAttrs(StrictAttrs):
    upper: StrictBool = False


def _solve_infer(matrix: AbstractValue, rhs: AbstractValue, *, adjoint: bool) -> AbstractValue:
    _square_float(matrix, "matrix")
    if rhs.ndim != 2 or rhs.shape[0] != matrix.shape[0]:
        raise OpInputError(f"input 'rhs' must be a 2-D matrix with {matrix.shape[0]} rows to fit "
                           f"'matrix' of shape {matrix.shape}, got shape {rhs.shape} (reshape a "
                           f"vector to (n, 1))")
    if rhs.dtype is not matrix.dtype:
        raise OpInputError(f"input 'rhs' has dtype {rhs.dtype.name} but 'matrix' has "
                           f"{matrix.dtype.name}; cast one with ops.Cast()(x, dtype)")
    return rhs


def _transposed_inverse(x):
    return F.transpose(F.matrix_inverse(x), perm=(1, 0))


def _inverse_grad(g, out, x):
    return -F.matmul(F.matmul(out, g, transpose_a=True), out, transpose_b=True)


def _solve_grad_matrix(g, out, matrix, rhs, *, adjoint):
    rhs_cotangent = F.matrix_solve(matrix, g, adjoint=not adjoint)
    if adjoint:
        return -F.matmul(out, rhs_cotangent, transpose_b=True)
    return -F.matmul(rhs_cotangent, out, transpose_b=True)


def _solve_grad_rhs(g, out, matrix, rhs, *, adjoint):
    return F.matrix_solve(matrix, g, adjoint=not adjoint)


def _lower_with_half_diagonal(n: int, dtype):
    """Φ's mask: ones below the diagonal, one half on it."""
    from ..core.tensor import Tensor
    mask = np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n)
    return Tensor(mask.astype(dtype.numpy))


def _cholesky_grad(g, out, x, *, upper):
    # with the input read as its symmetric part sym(A) = (A + Aᵀ)/2 (so any perturbation is
    # allowed): Ā = sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹)
    lower = F.transpose(out, perm=(1, 0)) if upper else out
    g_lower = F.transpose(g, perm=(1, 0)) if upper else g
    phi = F.matmul(lower, g_lower, transpose_a=True) * _lower_with_half_diagonal(x.shape[0], x.dtype)
    inverse = F.matrix_inverse(lower)
    inner = F.matmul(F.matmul(inverse, phi, transpose_a=True), inverse)
    return (inner + F.transpose(inner, perm=(1, 0))) * 0.5


# ---- forward mode: the same identities, pushed forward ------------------------------------------
def _inverse_jvp(tangents, out, x):
    return -F.matmul(F.matmul(out, tangents[0]), out)          # d inv(A) = -inv(A) dA inv(A)


def _solve_jvp(tangents, out, matrix, rhs, *, adjoint):
    # dX = solve(A, dB - dA X), with Aᵀ for dA when adjoint
    d_matrix, d_rhs = tangents
    change = d_rhs
    if d_matrix is not None:
        moved = F.matmul(d_matrix, out, transpose_a=adjoint)
        change = -moved if change is None else change - moved
    return None if change is None else F.matrix_solve(matrix, change, adjoint=adjoint)


def _trace_of_inverse_times(x, tangent):
    """tr(A⁻¹ dA), the derivative of log|det A| along dA."""
    return F.reduce_sum(_transposed_inverse(x) * tangent)


def _cholesky_jvp(tangents, out, x, *, upper):
    # dL = L Φ(L⁻¹ sym(dA) L⁻ᵀ), the input read as its symmetric part as in the backward rule
    lower = F.transpose(out, perm=(1, 0)) if upper else out
    sym = (tangents[0] + F.transpose(tangents[0], perm=(1, 0))) * 0.5
    inverse = F.matrix_inverse(lower)
    inner = F.matmul(F.matmul(inverse, sym), inverse, transpose_b=True)
    d_lower = F.matmul(lower, inner * _lower_with_half_diagonal(x.shape[0], x.dtype))
    return F.transpose(d_lower, perm=(1, 0)) if upper else d_lower


def _sign_and_log_abs_det(x):
    """``(sign, log|det x|)``, MindSpore's LogMatrixDeterminant; the sign is piecewise
    constant, so it carries no derivative."""
    sign = F.sign(F.stop_gradient(F.det(x)))
    return sign, F.log_abs_determinant(x)


# well-conditioned matrices for the checks: a general one, and a symmetric positive definite
# one for Cholesky
MATRIX_3x3 = fixed([[2.0, 0.3, 0.1], [0.2, 1.5, -0.3], [0.1, 0.4, 1.8]], "float64")
SPD_3x3 = fixed([[4.0, 1.0, 0.5], [1.0, 3.0, -0.4], [0.5, -0.4, 2.5]], "float64")
RHS_3x2 = fixed([[1.0, -0.5], [0.3, 2.0], [-1.2, 0.7]], "float64")

OPS = [
    OpDef(name="MatrixInverse", inputs=("x",), infer=_square_infer, backward=(_inverse_grad,),
          forward=_inverse_jvp, doc="inverse of a square matrix",
          checks=checks(sample(MATRIX_3x3))),
    OpDef(name="MatrixSolve", inputs=("matrix", "rhs"), infer=_solve_infer,
          attributes=SolveAttrs, backward=(_solve_grad_matrix, _solve_grad_rhs),
          forward=_solve_jvp,
          doc="X with matrix @ X = rhs (matrixᵀ @ X = rhs when adjoint); rhs is (n, k)",
          checks=checks(sample(MATRIX_3x3, RHS_3x2), sample(MATRIX_3x3, RHS_3x2, adjoint=True))),
    OpDef(name="Cholesky", inputs=("x",), infer=_square_infer, attributes=CholeskyAttrs,
          backward=(_cholesky_grad,), forward=_cholesky_jvp,
          doc="lower L with L Lᵀ = x (Lᵀ when upper); x is read as its symmetric part, "
              "and must be positive definite",
          checks=checks(sample(SPD_3x3), sample(SPD_3x3, upper=True))),
    OpDef(name="MatrixDeterminant", inputs=("x",), infer=_scalar_infer, functional="det",
          backward=(lambda g, out, x: g * out * _transposed_inverse(x),),
          forward=lambda tangents, out, x: out * _trace_of_inverse_times(x, tangents[0]),
          doc="determinant of a square matrix",
          checks=checks(sample(MATRIX_3x3))),
    OpDef(name="LogAbsDeterminant", inputs=("x",), infer=_scalar_infer,
          backward=(lambda g, out, x: g * _transposed_inverse(x),),
          forward=lambda tangents, out, x: _trace_of_inverse_times(x, tangents[0]),
          doc="log |det x| of a square matrix (logdet for positive definite x)",
          checks=checks(sample(SPD_3x3), sample(MATRIX_3x3))),
    OpDef(name="LogMatrixDeterminant", inputs=("x",), composite=_sign_and_log_abs_det,
          functional="slogdet",
          doc="(sign of det x, log |det x|); the sign has a zero derivative",
          checks=checks(sample(SPD_3x3))),
]
