"""How an op is checked, in the spirit of PyTorch's OpInfo: data, not code, held in the op's
own record (``OpDef.checks``).

An ``OpSpec`` names sample inputs (shapes — broadcasting and scalars among them — a domain to
draw from, or fixed values for indices and conditions), the attributes to call the op with, the
derivative order the op claims, and the orders expected to fail with their reasons. The family
helpers (``unary``, ``binary``, ``reduction``, ...) give their ops default checks, so most ops
write none. A plugin may also check another plugin's op through the ``hograd_op_specs`` hook.
"""
from __future__ import annotations

from typing import Any, Literal, Optional

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .. import dtype as dt


class SampleInput(BaseModel):
    """One input: drawn uniformly from ``[low, high]`` (the op's domain by default), with a
    random sign when ``both_signs`` (to stay away from a kink at 0), or given as ``values``."""

    model_config = ConfigDict(frozen=True)

    shape: tuple[int, ...] = ()
    dtype: str = "float64"
    low: Optional[float] = None
    high: Optional[float] = None
    both_signs: bool = False
    values: Any = None

    def make(self, domain: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
        numpy_dtype = dt.to_dtype(self.dtype).numpy
        if self.values is not None:
            return np.asarray(self.values, dtype=numpy_dtype).reshape(self.shape)
        low = domain[0] if self.low is None else self.low
        high = domain[1] if self.high is None else self.high
        array = rng.uniform(low, high, size=self.shape)
        if self.both_signs:
            array = array * rng.choice([-1.0, 1.0], size=self.shape)
        return np.asarray(array, dtype=numpy_dtype)


class Sample(BaseModel):
    """One call of the op: its inputs and attributes (``tuple_input``: passed as one tuple)."""

    model_config = ConfigDict(frozen=True)

    inputs: tuple[SampleInput, ...]
    attrs: dict[str, Any] = Field(default_factory=dict)
    tuple_input: bool = False


class OpSpec(BaseModel):
    """How to check one op, and what it claims."""

    model_config = ConfigDict(frozen=True)

    # the op's name; None in an op's own record (the record names it)
    op: Optional[str] = None
    samples: tuple[Sample, ...]
    # "checked": derivatives are compared with finite differences; "zero": the derivative is
    # zero by definition (stop_gradient), checked to be exactly zero; "none": the op is not
    # differentiable (``reason`` says why) and differentiating it must raise
    derivative: Literal["checked", "zero", "none"] = "checked"
    reason: Optional[str] = None
    # the highest order the op claims to differentiate to correctly
    max_order: int = 4
    # order -> why that order is expected to fail; a listed order that passes is an error
    expected_failures: dict[int, str] = Field(default_factory=dict)
    rtol: float = 1e-6
    atol: float = 1e-8
    eps: float = 1e-6


# ---- helpers that keep spec tables short -------------------------------------------------------
def x(*shape: int, low: float | None = None, high: float | None = None,
      both_signs: bool = False, dtype: str = "float64") -> SampleInput:
    """A float input of ``shape``."""
    return SampleInput(shape=shape, low=low, high=high, both_signs=both_signs, dtype=dtype)


def fixed(values, dtype: str) -> SampleInput:
    """An input with fixed values (integer indices, boolean conditions)."""
    array = np.asarray(values)
    return SampleInput(shape=array.shape, dtype=dtype, values=array.tolist())


def sample(*inputs: SampleInput, tuple_input: bool = False, **attrs: Any) -> Sample:
    return Sample(inputs=inputs, attrs=attrs, tuple_input=tuple_input)


def spec(op: str, *samples: Sample, **claims: Any) -> OpSpec:
    """Checks of the op named ``op`` (for the ``hograd_op_specs`` hook)."""
    return OpSpec(op=op, samples=samples, **claims)


def checks(*samples: Sample, **claims: Any) -> OpSpec:
    """An op's own checks, for its record: ``OpDef(..., checks=checks(sample(x(2, 3))))``."""
    return OpSpec(samples=samples, **claims)
