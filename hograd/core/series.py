"""Truncated power series with lazily computed coefficients: the algebra Taylor rules are written in.

A ``Series`` stands for ``x(t) = x₀ + x₁·t + x₂·t² + …`` where ``xₖ = x⁽ᵏ⁾(0) / k!`` (normalized
Taylor coefficients: the recurrences below are simplest in them; ``taylor_api`` converts to
MindSpore's derivatives at the boundary). Coefficient k is computed on first use and kept, so
a rule states the whole series at once and Taylor mode asks for as many coefficients as the
order needs. Coefficients are tensors, ``None`` (symbolic zeros: no node is made) or
``Directions`` (collapsed mode) — see ``core/coefficients.py``.

Arithmetic on series (``+ - * /`` with series, tensors or numbers) gives series, so an op's
rule reads like its ODE: ``tanh`` is ``ode(x, out, lambda y: 1 - y * y)``. Each product or
quotient is one sum per coefficient, so the k-th coefficient costs O(k) ops and a jet of order
K costs O(K²) ops per op — against the ~2ᴷ growth of nested reverse mode.

>>> y = ode(x, F.exp(x.primal), lambda x, y: y)        # exp: y' = y·x'
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from . import coefficients as co
from .dispatch import apply
from .roles import role


class Series:
    """A power series whose coefficient k is ``rule(k)``, computed once, on first use.

    ``rule(0)`` is the primal value (a tensor). A rule may read earlier coefficients of any
    series, its own included; it must not read its own coefficient k.
    """

    __slots__ = ("_rule", "_coefficients", "constant")

    def __init__(self, rule: Callable[[int], Any], constant: bool = False) -> None:
        self._rule = rule
        self._coefficients: list[Any] = []
        # every coefficient after the primal is zero (a value no input series reaches)
        self.constant = constant

    def __getitem__(self, k: int):
        if self.constant and k > 0:
            return None
        while len(self._coefficients) <= k:
            self._coefficients.append(self._rule(len(self._coefficients)))
        return self._coefficients[k]

    @property
    def primal(self):
        return self[0]

    # ---- building ---------------------------------------------------------------------------
    @classmethod
    def of_constant(cls, value) -> "Series":
        """A value that does not move with t."""
        return cls(lambda k: value, constant=True)

    @classmethod
    def of_coefficients(cls, primal, higher) -> "Series":
        """The series ``primal + higher[0]·t + higher[1]·t² + …`` (zero after ``higher``)."""
        known = [primal, *higher]
        return cls(lambda k: known[k] if k < len(known) else None,
                   constant=all(c is None for c in higher))

    @classmethod
    def lift(cls, value) -> "Series":
        """A series as is; a tensor or number as a constant series."""
        return value if isinstance(value, Series) else cls.of_constant(value)

    def with_primal(self, primal) -> "Series":
        """This series with its primal replaced by ``primal`` (the op's own, stabler kernel)."""
        return Series(lambda k: primal if k == 0 else self[k], constant=self.constant)

    def map(self, fn: Callable[[Any], Any], primal=None, elementwise: bool = False
            ) -> "Series":
        """``fn`` (a linear op) applied to every coefficient; ``primal`` if already computed.

        ``fn`` sees coefficients of the primal's exact shape unless it is ``elementwise``
        (then a coefficient that only broadcasts to it stays as small as it is)."""
        def rule(k):
            if k == 0:
                return fn(self[0]) if primal is None else primal
            if elementwise:
                return co.linear(fn, self[k])
            return co.linear(fn, co.fit(self[k], self[0].aval))
        return Series(rule, constant=self.constant)

    # ---- arithmetic -------------------------------------------------------------------------
    def __add__(self, other) -> "Series":
        if not isinstance(other, Series):  # a tensor or a number moves the primal only
            return Series(lambda k: apply(role("add"), (self[0], other)) if k == 0 else self[k],
                          constant=self.constant)
        return Series(lambda k: apply(role("add"), (self[0], other[0])) if k == 0
                      else co.add(self[k], other[k]), constant=self.constant and other.constant)

    __radd__ = __add__

    def __neg__(self) -> "Series":
        return Series(lambda k: apply(role("negate"), (self[0],)) if k == 0 else co.negate(self[k]),
                      constant=self.constant)

    def __sub__(self, other) -> "Series":
        return self + (-other if isinstance(other, Series) else -other
                       if isinstance(other, (int, float)) else apply(role("negate"), (other,)))

    def __rsub__(self, other) -> "Series":
        return Series(lambda k: apply(role("subtract"), (other, self[0])) if k == 0
                      else co.negate(self[k]), constant=self.constant)

    def __mul__(self, other) -> "Series":
        if isinstance(other, (int, float)):
            return Series(lambda k: apply(role("multiply"), (self[0], float(other))) if k == 0
                          else co.scale(self[k], other), constant=self.constant)
        return product(self, Series.lift(other))

    __rmul__ = __mul__

    def __truediv__(self, other) -> "Series":
        if isinstance(other, (int, float)):
            return self * (1.0 / other)
        return quotient(self, Series.lift(other))

    def __rtruediv__(self, other) -> "Series":
        return quotient(Series.lift(other), self)


def product(a: Series, b: Series, bilinear: Optional[Callable[[Any, Any], Any]] = None
            ) -> Series:
    """Leibniz's rule: ``(a·b)ₖ = Σⱼ aⱼ·bₖ₋ⱼ`` for any bilinear product (Mul, MatMul, …).

    A square (``a is b`` with an elementwise product) sums each pair once and doubles it."""
    multiply = (lambda x, y: co.multiply(x, y, bilinear))
    primal_product = bilinear or (lambda x, y: apply(role("multiply"), (x, y)))

    def rule(k):
        if k == 0:
            return primal_product(a[0], b[0])
        if a is b and bilinear is None:
            pairs = co.total(multiply(a[j], a[k - j]) for j in range(0, (k + 1) // 2))
            middle = multiply(a[k // 2], a[k // 2]) if k % 2 == 0 else None
            return co.add(co.scale(pairs, 2.0), middle)
        return co.total(multiply(a[j], b[k - j]) for j in range(k + 1))
    return Series(rule, constant=a.constant and b.constant)


def quotient(a: Series, b: Series) -> Series:
    """``q = a / b`` from ``q·b = a``: ``qₖ = (aₖ − Σⱼ₌₁ᵏ bⱼ·qₖ₋ⱼ) / b₀``."""
    def rule(k):
        if k == 0:
            return apply(role("divide"), (a[0], b[0]))
        known = co.total(co.multiply(b[j], q[k - j]) for j in range(1, k + 1))
        return co.divide(co.add(a[k], co.negate(known)), b[0])
    q = Series(rule, constant=a.constant and b.constant)
    return q


def ode(x: Series, primal, derivative: Callable[[Series, Series], Series]) -> Series:
    """The series of ``y = f(x)`` from f's ODE ``f'(x) = derivative(x, y)`` and ``y₀ = primal``.

    From ``y' = f'(x)·x'``: ``k·yₖ = Σⱼ₌₁ᵏ j·xⱼ·uₖ₋ⱼ`` with ``u = derivative(x, y)``, a series
    built from ``x`` and ``y`` by series arithmetic — ``exp``: ``lambda x, y: y``; ``tanh``:
    ``lambda x, y: 1 - y * y``; ``log``: ``lambda x, y: 1 / x``. Coefficient k of ``u`` needs
    ``y`` up to k only, so the recurrence is well founded. This one recurrence gives every
    elementwise op with an ODE. ``derivative`` is called on first need, so it may name series
    defined later (sin and cos refer to each other).

    In collapsed mode (first-order coefficients are ``Directions``, the series stops at order 2)
    the recurrence would carry ``u₁`` once per direction; instead f's own Taylor coefficients
    come from the same ODE along the scalar path ``x₀ + t``, and Faà di Bruno gives
    ``y₁ = f₁·x₁``, ``y₂ = f₁·x₂ + f₂·Σ_d x₁,d²`` — the forward Laplacian's rule.
    """
    if x.constant:
        return Series.of_constant(primal)
    scaled: dict[int, Any] = {}  # j·xⱼ, made once and shared by every later coefficient
    slope: list[Series] = []
    own: list[Series] = []  # f's Taylor coefficients at x₀ (collapsed mode)

    def rule(k):
        if k == 0:
            return primal
        if isinstance(x[1], co.Directions):
            if k > 2:
                raise ValueError("collapsed Taylor mode carries orders up to 2 only")
            if not own:
                own.append(ode(_unit_path(x.primal), primal, derivative))
            f = own[0]
            if k == 1:
                return co.multiply(f[1], x[1])
            return co.add(co.multiply(f[1], x[2]), co.multiply(f[2], co.multiply(x[1], x[1])))
        if not slope:
            slope.append(derivative(x, y))
        u = slope[0]
        for j in range(1, k + 1):
            if j not in scaled:
                scaled[j] = co.scale(x[j], j)
        # a zero xⱼ skips its term without asking u for a coefficient it would not need
        return co.scale(co.total(co.multiply(scaled[j], u[k - j]) for j in range(1, k + 1)
                                 if scaled[j] is not None), 1.0 / k)
    y = Series(rule)
    return y


def _unit_path(point) -> Series:
    """The series ``point + t`` (a Fill of ones, which the passes multiply away)."""
    ones = co.unit(apply(role("fill"), (), {"shape": point.shape, "dtype": point.dtype, "value": 1.0}))
    return Series.of_coefficients(point, [ones])
