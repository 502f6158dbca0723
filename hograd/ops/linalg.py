"""Matrix products."""
from __future__ import annotations

import numpy as np
from pydantic import StrictBool

from ..core.checkspec import checks, sample, x
from ..core.errors import OpDtypeError, OpInputError
from ..core.ir import AbstractValue
from ..core.opdef import OpDef, StrictAttrs
from .call import F
from .families import broadcast_shapes, multilinear_jvp, same_dtype
from .rewrites import (outer_product, product_with_filled, product_with_identity,
                       row_scaling_onto_the_weights)


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
# the flags of further products, so no Transpose node is needed at any order. The same rules
# serve MatMul and BatchMatMul (whose broadcast batch axes the transformer sums back).
def _product_grads(product: str):
    def grad_a(g, out, a, b, *, transpose_a, transpose_b):
        if transpose_a:
            return getattr(F, product)(b, g, transpose_a=transpose_b, transpose_b=True)
        return getattr(F, product)(g, b, transpose_a=False, transpose_b=not transpose_b)

    def grad_b(g, out, a, b, *, transpose_a, transpose_b):
        if transpose_b:
            return getattr(F, product)(g, a, transpose_a=True, transpose_b=transpose_a)
        return getattr(F, product)(a, g, transpose_a=not transpose_a, transpose_b=False)

    return grad_a, grad_b


def _batch_matmul_infer(a: AbstractValue, b: AbstractValue, *, transpose_a: bool,
                        transpose_b: bool) -> AbstractValue:
    if a.ndim < 2 or b.ndim < 2:
        raise OpInputError(f"inputs must have at least 2 dimensions, got 'a' of shape {a.shape} "
                           f"and 'b' of shape {b.shape}")
    matrix = _matmul_infer(AbstractValue(a.shape[-2:], a.dtype),
                           AbstractValue(b.shape[-2:], b.dtype),
                           transpose_a=transpose_a, transpose_b=transpose_b)
    batch = broadcast_shapes(a.shape[:-2], b.shape[:-2], names=("a batch", "b batch"))
    return AbstractValue(batch + matrix.shape, matrix.dtype)


# ---- Einsum -----------------------------------------------------------------------------------
class EinsumAttrs(StrictAttrs):
    equation: str


def parse_equation(equation: str, n_operands: int) -> tuple[list[str], str]:
    """Operand subscripts and output subscript; implicit output as numpy forms it."""
    equation = equation.replace(" ", "")
    if "." in equation:
        raise OpInputError("'...' is not supported; name every axis")
    inputs, arrow, output = equation.partition("->")
    subscripts = inputs.split(",")
    if len(subscripts) != n_operands:
        raise OpInputError(f"equation {equation!r} names {len(subscripts)} operands, "
                           f"got {n_operands}")
    if not all(s.isalpha() or s == "" for s in subscripts + [output]):
        raise OpInputError(f"subscripts must be letters, got {equation!r}")
    if not arrow:
        letters = "".join(subscripts)
        output = "".join(sorted(l for l in set(letters) if letters.count(l) == 1))
    return subscripts, output


def _einsum_infer(*operands: AbstractValue, equation: str) -> AbstractValue:
    subscripts, output = parse_equation(equation, len(operands))
    sizes: dict[str, int] = {}
    for k, (subs, x) in enumerate(zip(subscripts, operands)):
        if len(subs) != x.ndim:
            raise OpInputError(f"operand {k} has rank {x.ndim} but subscript {subs!r}")
        for letter, size in zip(subs, x.shape):
            if sizes.setdefault(letter, size) != size:
                raise OpInputError(f"axis {letter!r} has sizes {sizes[letter]} and "
                                   f"{size}")
        if x.dtype is not operands[0].dtype:
            raise OpDtypeError(f"operand {k} has dtype {x.dtype.name}, operand 0 "
                               f"{operands[0].dtype.name}")
    if len(set(output)) != len(output) or any(l not in sizes for l in output):
        raise OpInputError(f"output {output!r} must name distinct input axes")
    return AbstractValue(tuple(sizes[l] for l in output), operands[0].dtype)


def _einsum_grad(g, out, *operands, equation):
    from ..core.tensor import Tensor
    subscripts, output = parse_equation(equation, len(operands))
    grads = []
    for k, (subs, x) in enumerate(zip(subscripts, operands)):
        others = [(s, o) for j, (s, o) in enumerate(zip(subscripts, operands)) if j != k]
        unique = "".join(dict.fromkeys(subs))
        reachable = set(output).union(*[set(s) for s, _ in others])
        target = "".join(l for l in unique if l in reachable)
        contraction = ",".join([output] + [s for s, _ in others]) + "->" + target
        grad = F.einsum(g, *[o for _, o in others], equation=contraction)
        sizes = {l: n for l, n in zip(subs, x.shape)}
        if target != unique:
            # axes only this operand had were summed: spread the gradient over them
            grad = F.reshape(grad, tuple(sizes[l] if l in target else 1 for l in unique))
            grad = F.broadcast_to(grad, shape=tuple(sizes[l] for l in unique))
        if unique != subs:
            # a repeated subscript (a diagonal, as in a trace): put the gradient on it
            first = {l: subs.index(l) for l in unique}
            grad = F.reshape(grad, tuple(sizes[l] if first[l] == p else 1
                                         for p, l in enumerate(subs)))
            grad = F.broadcast_to(grad, shape=x.shape)
            mask = np.ones(x.shape, dtype=x.dtype.numpy)
            grid = np.indices(x.shape)
            for p, l in enumerate(subs):
                mask = mask * (grid[p] == grid[first[l]])
            grad = grad * Tensor(mask.astype(x.dtype.numpy))
        grads.append(grad)
    return tuple(grads)


OPS = [
    OpDef(name="MatMul", inputs=("a", "b"), infer=_matmul_infer, attributes=MatMulAttrs,
          backward=_product_grads("matmul"), forward=multilinear_jvp("MatMul"),
          functional="matmul",
          rewrites=(product_with_filled, product_with_identity, outer_product,
                    row_scaling_onto_the_weights),
          doc="matrix product op(a) @ op(b), op transposing when transpose_a/transpose_b",
          checks=checks(sample(x(2, 3), x(3, 4)), sample(x(3, 2), x(3, 4), transpose_a=True),
                        sample(x(2, 3), x(4, 3), transpose_b=True),
                        sample(x(3, 2), x(4, 3), transpose_a=True, transpose_b=True))),
    OpDef(name="BatchMatMul", inputs=("a", "b"), infer=_batch_matmul_infer,
          attributes=MatMulAttrs, backward=_product_grads("batch_matmul"),
          forward=multilinear_jvp("BatchMatMul"),
          functional="batch_matmul",
          rewrites=(product_with_filled, product_with_identity, outer_product),
          doc="matrix products over the last two axes, batch axes broadcast",
          checks=checks(sample(x(2, 2, 3), x(3, 4)),
                        sample(x(1, 3, 2), x(2, 4, 3), transpose_a=True, transpose_b=True))),
    OpDef(name="Einsum", inputs=("operands",), variadic=True, infer=_einsum_infer,
          attributes=EinsumAttrs, backward_all=_einsum_grad, forward=multilinear_jvp("Einsum"),
          doc="Einstein summation: Einsum('ij,jk->ik')((a, b)); no '...'",
          checks=checks(sample(x(2, 3), x(3, 2), tuple_input=True, equation="ij,jk->ik"),
                        sample(x(2), x(3), tuple_input=True, equation="i,j->ij"),
                        sample(x(3, 3), tuple_input=True, equation="ii->"),
                        sample(x(2, 2, 3), x(2, 3, 2), tuple_input=True, equation="bij,bjk->bik"),
                        sample(x(3, 2), tuple_input=True, equation="ij->i"))),
]
