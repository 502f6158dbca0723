"""What one Taylor coefficient is, and its arithmetic: a tensor, a symbolic zero, or directions.

A coefficient of a truncated power series (``core/series.py``) is one of

- a tensor (recorded with hograd ops, so whatever Taylor mode builds differentiates again);
- ``None``: a symbolic zero, for which no node is ever made (the higher coefficients of the
  input of ``derivative``, everything about a constant);
- ``Directions``: one tensor per input direction, for *collapsed* Taylor mode (the forward
  Laplacian). First-order coefficients carry one tensor per direction; a product of two such
  coefficients is summed over the directions at once, so second-order coefficients hold the
  sum over directions — which is all a Laplacian needs, at the cost of one second-order
  coefficient instead of one per direction.

Every rule of Taylor mode goes through these functions, never through raw ops on
coefficients, so every rule works unchanged in collapsed mode.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable, Optional

from .dispatch import apply
from .roles import role


class Directions:
    """First-order coefficients, one tensor per direction (collapsed Taylor mode)."""

    __slots__ = ("tensors",)

    def __init__(self, tensors) -> None:
        self.tensors = tuple(tensors)

    def __repr__(self) -> str:
        return f"Directions({len(self.tensors)})"


Coefficient = Any  # a Tensor, None (a symbolic zero) or Directions


def _each(fn: Callable, *coefficients: Coefficient) -> Coefficient:
    """Apply ``fn`` to coefficients that are all tensors or all ``Directions`` (per direction)."""
    bundles = [c for c in coefficients if isinstance(c, Directions)]
    if not bundles:
        return fn(*coefficients)
    if len(bundles) != len(coefficients):
        raise TypeError("a first-order coefficient met a coefficient of another order")
    return Directions(fn(*parts) for parts in zip(*(b.tensors for b in bundles)))


def add(a: Coefficient, b: Coefficient) -> Coefficient:
    """a + b, with None as zero; a negated term is subtracted (see ``multiply``)."""
    if a is None:
        return b
    if b is None:
        return a
    return _each(_add_tensors, a, b)


def _add_tensors(x, y):
    minus_x, minus_y = _negation_of(x), _negation_of(y)
    if minus_x is not None and minus_y is not None:
        return _scale_tensor(apply(role("add"), (minus_x, minus_y)), -1.0)
    if minus_y is not None:
        return apply(role("subtract"), (x, minus_y))
    if minus_x is not None:
        return apply(role("subtract"), (y, minus_x))
    return apply(role("add"), (x, y))


def total(terms) -> Coefficient:
    """The sum of ``terms`` (None for an empty sum or all zeros)."""
    result = None
    for term in terms:
        result = add(result, term)
    return result


def negate(a: Coefficient) -> Coefficient:
    return scale(a, -1.0)


# tensor made by ``scale`` (by id) -> (its base, the factor): a scale of a scale becomes one
# product, so recurrences (ODEs, squares, the 1/k of each coefficient) do not stack constant
# factors node upon node. An entry lives exactly as long as its scaled tensor (a weak-reference
# callback removes it) and holds the base strongly: a base made inside a rule (the pair sum of a
# square) is often referenced by nothing else, and a weak entry would die before the next scale.
_scaled: dict[int, tuple[Any, Any, float]] = {}


def scale(a: Coefficient, factor: float) -> Coefficient:
    """``factor · a``; a factor of 1 makes no node, of 0 a symbolic zero."""
    if a is None or factor == 0:
        return None
    return _each(lambda x: _scale_tensor(x, float(factor)), a)


def _scale_tensor(tensor, factor: float):
    origin = _scaled.get(id(tensor))
    if origin is not None and origin[0]() is tensor:
        tensor, factor = origin[1], factor * origin[2]
    if factor == 1:
        return tensor
    result = (apply(role("negate"), (tensor,)) if factor == -1
              else apply(role("multiply"), (tensor, factor)))
    key = id(result)
    _scaled[key] = (weakref.ref(result, lambda _: _scaled.pop(key, None)), tensor, factor)
    return result


def _negation_of(tensor):
    """The tensor ``tensor`` is the negation of (made by ``scale`` with factor −1), or None."""
    origin = _scaled.get(id(tensor))
    if origin is not None and origin[0]() is tensor and origin[2] == -1:
        return origin[1]
    return None


def _signs_out(product: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``product`` of the un-negated factors, negated once outside: the negation then meets a
    sum (a subtraction) or a scale (one factor) further on instead of costing a node on each
    batch-sized factor (tanh's second coefficient is −y·(1 − y²))."""
    def signed(x, y):
        minus_x, minus_y = _negation_of(x), _negation_of(y)
        if minus_x is None and minus_y is None:
            return product(x, y)
        if minus_x is not None and minus_y is not None:
            return product(minus_x, minus_y)
        return _scale_tensor(product(x if minus_x is None else minus_x,
                                     y if minus_y is None else minus_y), -1.0)
    return signed


def multiply(a: Coefficient, b: Coefficient,
             product: Optional[Callable[[Any, Any], Any]] = None) -> Coefficient:
    """``product(a, b)`` (elementwise by default) for any bilinear product.

    Two ``Directions`` meet only in a second-order term: their products are summed over the
    directions, which is the collapse of collapsed Taylor mode."""
    if a is None or b is None:
        return None
    if product is None:  # an elementwise product with a unit (the path x₀ + t) is the other
        if _is_unit(a):
            return b
        if _is_unit(b):
            return a
    product = _signs_out(product or (lambda x, y: apply(role("multiply"), (x, y))))
    if isinstance(a, Directions) and isinstance(b, Directions):
        return total(product(x, y) for x, y in zip(a.tensors, b.tensors))
    if isinstance(a, Directions):
        return Directions(product(x, b) for x in a.tensors)
    if isinstance(b, Directions):
        return Directions(product(a, y) for y in b.tensors)
    return product(a, b)


_units: dict[int, Any] = {}


def unit(tensor):
    """Mark ``tensor`` (a tensor of ones seeding a path) so that products with it make no node."""
    if len(_units) > 10_000:
        _units.clear()
    _units[id(tensor)] = weakref.ref(tensor)
    return tensor


def _is_unit(a) -> bool:
    reference = _units.get(id(a)) if not isinstance(a, Directions) else None
    return reference is not None and reference() is a


def divide(a: Coefficient, b) -> Coefficient:
    """a / b for a tensor ``b`` (a zeroth-order coefficient)."""
    return None if a is None else _each(lambda x: apply(role("divide"), (x, b)), a)


def linear(fn: Callable[..., Any], *coefficients: Coefficient) -> Coefficient:
    """A linear map applied to coefficients (per direction); None in, None out."""
    if all(c is None for c in coefficients):
        return None
    return _each(fn, *coefficients)


def fit(a: Coefficient, aval, loose_axes=()) -> Coefficient:
    """``a`` broadcast to ``aval``'s shape and cast to its dtype; ``loose_axes`` (negative, as
    counted from the last axis) keep a length of 1, and ``loose_axes="all"`` keeps every one.

    A coefficient's shape need only *broadcast* to its value's shape: an axis of length 1 says
    the coefficient is the same all along it (the seeds of ``laplacian`` are one row per
    direction, not one per point), and elementwise rules keep it so, which makes per-direction
    work as small as the coefficient. An op that is not elementwise fits its coefficients
    first: a reduction over a kept axis would sum one copy instead of many. Only the axes such
    an op treats pointwise may stay loose (the rows of a matrix product's left factor)."""
    def fitted(x):
        target = _fitted_shape(tuple(x.shape), tuple(aval.shape), loose_axes)
        if tuple(x.shape) != target:
            x = apply(role("broadcast_to"), (x,), {"shape": target})
        if x.dtype is not aval.dtype:
            x = apply(role("cast"), (x,), {"dtype": aval.dtype})
        return x
    return None if a is None else _each(fitted, a)


def _fitted_shape(shape: tuple, full: tuple, loose_axes) -> tuple:
    if loose_axes == "all" and len(shape) == len(full):
        return shape
    padded = (1,) * (len(full) - len(shape)) + shape
    loose = range(-len(full), 0) if loose_axes == "all" else loose_axes
    return tuple(1 if size == 1 and axis in loose else whole
                 for axis, size, whole in zip(range(-len(full), 0), padded, full))


def dense(coefficients: list, zeros_like: Optional[list] = None) -> list:
    """Coefficients with symbolic zeros made real (for ops that need every input: Select,
    Concat); zeros take the shape of ``zeros_like[i]`` or of the first real coefficient.
    An empty list when all are zero."""
    real = [c for c in coefficients if c is not None]
    if not real:
        return []
    directions = next((len(c.tensors) for c in real if isinstance(c, Directions)), None)
    template = real[0].tensors[0] if isinstance(real[0], Directions) else real[0]
    made = []
    for index, c in enumerate(coefficients):
        if c is None:
            zero = apply(role("zeros_like"), (zeros_like[index] if zeros_like else template,))
            c = Directions([zero] * directions) if directions else zero
        made.append(c)
    return made
