"""Check specifications of the built-in ops: what ``hograd capabilities`` runs for each.

Sample shapes include broadcasting and scalars; inputs near kinks are drawn away from them
(``both_signs`` with a positive domain); indices and conditions are fixed values.
"""
from __future__ import annotations

from ..capabilities.spec import OpSpec, fixed, sample, spec, x
from ..core.indexing import NewAxis, Span, Take

UNARY = ["Neg", "Square", "Exp", "Log", "Sqrt", "Reciprocal", "Sin", "Cos", "Tan", "Sinh",
         "Cosh", "Atanh", "Tanh", "Sigmoid", "Erf", "Erfc", "Asin", "Acos", "Atan", "Asinh",
         "Acosh", "Log1p", "Expm1", "Rsqrt", "Softplus", "LogSigmoid", "GeLU", "ZerosLike",
         "OnesLike"]
# kinks at 0: inputs keep away from it
UNARY_WITH_KINK = ["Abs", "ReLU"]
BINARY = ["Add", "Sub", "Mul", "RealDiv", "Pow", "Maximum", "Minimum", "SquaredDifference",
          "Atan2", "Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual"]

ALL_AXES, ROWS = {}, {"axis": 1}
BOOL_2x3 = fixed([[True, False, True], [False, False, True]], "bool")
INDICES = fixed([[0, 3], [3, 1]], "int64")


def _reduction(name: str, **domain) -> OpSpec:
    return spec(name, sample(x(2, 3, **domain)), sample(x(2, 3, **domain), axis=1, keep_dims=True),
                sample(x(3, 2, 2, **domain), axis=(0, 2)), sample(x(**domain)))


SPECS: list[OpSpec] = [
    *(spec(name, sample(x(2, 3)), sample(x())) for name in UNARY),
    *(spec(name, sample(x(2, 3, both_signs=True)), sample(x(both_signs=True)))
      for name in UNARY_WITH_KINK),
    spec("Elu", sample(x(2, 3, both_signs=True)), sample(x(4, both_signs=True), alpha=0.5)),
    spec("Sign", sample(x(2, 3, both_signs=True)), derivative="none",
         reason="Sign is piecewise constant: its derivative is 0 where it exists and undefined "
                "at 0"),
    *(spec(name, sample(x(2, 3), x(3)), sample(x(), x(2)), sample(x(2, 1), x(1, 3)))
      for name in BINARY),
    spec("MatMul", sample(x(2, 3), x(3, 4)), sample(x(3, 2), x(3, 4), transpose_a=True),
         sample(x(2, 3), x(4, 3), transpose_b=True),
         sample(x(3, 2), x(4, 3), transpose_a=True, transpose_b=True)),
    spec("BatchMatMul", sample(x(2, 2, 3), x(3, 4)), sample(x(1, 3, 2), x(2, 4, 3),
                                                              transpose_a=True, transpose_b=True)),
    spec("Einsum", sample(x(2, 3), x(3, 2), tuple_input=True, equation="ij,jk->ik"),
         sample(x(2), x(3), tuple_input=True, equation="i,j->ij"),
         sample(x(3, 3), tuple_input=True, equation="ii->"),
         sample(x(2, 2, 3), x(2, 3, 2), tuple_input=True, equation="bij,bjk->bik"),
         sample(x(3, 2), tuple_input=True, equation="ij->i")),
    _reduction("ReduceSum"), _reduction("ReduceMean"), _reduction("ReduceMax"),
    _reduction("ReduceMin"), _reduction("LogSumExp"), _reduction("ReduceProd", low=0.5, high=1.5),
    spec("CumSum", sample(x(2, 3), axis=1),
         sample(x(3, 2), axis=0, exclusive=True, reverse=True)),
    spec("Norm", sample(x(2, 3), axis=1), sample(x(2, 3, low=0.3, both_signs=True), p=1)),
    spec("Softmax", sample(x(2, 3)), sample(x(3, 2), axis=0)),
    spec("LogSoftmax", sample(x(2, 3)), sample(x(3, 2), axis=0)),
    spec("Reshape", sample(x(2, 3), shape=(3, -1)), sample(x(), shape=(1, 1))),
    spec("Transpose", sample(x(2, 3), perm=(1, 0)), sample(x(2, 3, 2), perm=(2, 0, 1))),
    spec("ExpandDims", sample(x(2, 3), axis=1), sample(x(2), axis=-1)),
    spec("BroadcastTo", sample(x(2, 1), shape=(4, 2, 3)), sample(x(), shape=(2,))),
    spec("Squeeze", sample(x(2, 1, 3)), sample(x(1, 3, 1), axis=0)),
    spec("Tile", sample(x(2, 3), multiples=(2, 1, 2))),
    spec("Pad", sample(x(2, 3), paddings=((1, 0), (2, 1)))),
    spec("Concat", sample(x(2, 3), x(2, 2), tuple_input=True, axis=1),
         sample(x(1, 2), x(2, 2), x(1, 2), tuple_input=True, axis=0)),
    spec("Stack", sample(x(2, 3), x(2, 3), tuple_input=True, axis=0),
         sample(x(2), x(2), tuple_input=True, axis=-1)),
    spec("Split", sample(x(2, 4), axis=1, output_num=2), sample(x(3, 2), axis=0, output_num=3)),
    spec("GetItem", sample(x(3, 4), index=(Take(1), Span(0, 4, 2))),
         sample(x(2, 3), index=(NewAxis(), Span(1, 2, 1), Span(0, 3, 1)))),
    spec("GetItemAdjoint", sample(x(2), index=(Span(1, 3, 1),), shape=(4,))),
    spec("Gather", sample(x(2, 4), INDICES, axis=1), sample(x(4), INDICES, axis=0)),
    spec("GatherAdjoint", sample(x(2, 2, 2), INDICES, axis=1, shape=(2, 4))),
    spec("Select", sample(BOOL_2x3, x(2, 3), x(3))),
    # float32 output: a wide step keeps the difference quotient above float32 rounding
    spec("Cast", sample(x(2, 3), dtype="float64"), sample(x(2, 3), dtype="float32"),
         eps=1e-2, rtol=1e-4, atol=1e-6),
    spec("StopGradient", sample(x(2, 3)), derivative="zero",
         reason="stop_gradient's derivative is zero by definition"),
    spec("FloorDiv", sample(x(2, 3), x(3)), sample(x(), x(2)), derivative="zero",
         reason="floor division is piecewise constant: its derivative is zero where it exists "
                "(MindSpore's bprop returns zeros)"),
    spec("Print", sample(x(2, 3)), sample(x(), x(2))),
    spec("Fill", sample(dtype="float64", shape=(2, 3), value=1.5), derivative="none",
         reason="Fill has no tensor inputs: there is nothing to differentiate"),
]

# ---- rounding, extremes, one-hot, random, dense linear algebra -----------------------------
# well-conditioned matrices: a general one, and a symmetric positive definite one for Cholesky
MATRIX_3x3 = fixed([[2.0, 0.3, 0.1], [0.2, 1.5, -0.3], [0.1, 0.4, 1.8]], "float64")
SPD_3x3 = fixed([[4.0, 1.0, 0.5], [1.0, 3.0, -0.4], [0.5, -0.4, 2.5]], "float64")
RHS_3x2 = fixed([[1.0, -0.5], [0.3, 2.0], [-1.2, 0.7]], "float64")
# quotients x / y kept away from integers, where remainders jump
DIVIDENDS = fixed([[1.3, -2.7, 4.1], [-0.6, 3.4, -5.2]], "float64")
DIVISORS = fixed([0.8, -1.5, 2.2], "float64")

SPECS += [
    spec("Floor", sample(x(2, 3, both_signs=True)), derivative="zero",
         reason="floor is piecewise constant: its derivative is zero where it exists"),
    spec("FloorMod", sample(DIVIDENDS, DIVISORS)),
    spec("Mod", sample(DIVIDENDS, DIVISORS)),
    spec("ClipByValue", sample(fixed([[-1.7, -0.4, 0.3], [0.9, 1.6, 2.4]], "float64"),
                               clip_value_min=-1.0, clip_value_max=1.5),
         sample(x(3, both_signs=True), clip_value_min=0.2)),
    spec("Argmax", sample(x(2, 3)), sample(x(2, 3), axis=None), derivative="zero",
         reason="an index is piecewise constant in the values: zero derivative"),
    spec("Argmin", sample(x(2, 3)), sample(x(3, 2), axis=0, keep_dims=True), derivative="zero",
         reason="an index is piecewise constant in the values: zero derivative"),
    spec("ArgMaxWithValue", sample(x(2, 3), axis=1), sample(x(3, 2), axis=0, keep_dims=True)),
    spec("ArgMinWithValue", sample(x(2, 3), axis=1), sample(x(3, 2), axis=0, keep_dims=True)),
    spec("OneHot", sample(fixed([0, 2, 1], "int64"), fixed(3, "int64"), x(), x()),
         sample(fixed([[1, 0]], "int64"), fixed(2, "int64"), x(), x(), axis=0)),
    spec("StandardNormal", sample(shape=(2, 3), seed=1), derivative="none",
         reason="a random op has no tensor inputs: there is nothing to differentiate"),
    spec("UniformReal", sample(shape=(2, 3), seed=1), derivative="none",
         reason="a random op has no tensor inputs: there is nothing to differentiate"),
    spec("MatrixInverse", sample(MATRIX_3x3)),
    spec("MatrixSolve", sample(MATRIX_3x3, RHS_3x2), sample(MATRIX_3x3, RHS_3x2, adjoint=True)),
    spec("Cholesky", sample(SPD_3x3), sample(SPD_3x3, upper=True)),
    spec("MatrixDeterminant", sample(MATRIX_3x3)),
    spec("LogAbsDeterminant", sample(SPD_3x3), sample(MATRIX_3x3)),
    spec("LogMatrixDeterminant", sample(SPD_3x3)),
]

# Assign writes a Parameter, so it has no spec of its own (tests/test_optimizers.py covers it);
# Depend passes its first input through
SPECS += [spec("Depend", sample(x(2, 3), x(3)))]
