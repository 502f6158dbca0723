"""What an op is: one pydantic record holding its name, inputs, attributes, shape rule and derivative.

An op is declared once (see ``hograd/ops/``) and registered through the ``hograd_ops`` hook. The
record is data; the dispatcher, the transformer and the checks read it, and nothing else needs to
know about the op.
"""
from __future__ import annotations

from typing import Annotated, Any, Callable, Literal, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, field_validator, model_validator

from .checkspec import OpSpec
from .errors import OpInputError

# rule(cotangent, out, *inputs, **attrs) -> cotangent of one input, written with hograd ops
# (so that it can be differentiated again), or None for a symbolic zero.
BackwardRule = Callable[..., Any]
# forward(tangents, out, *inputs, **attrs) -> the output's tangent, written with hograd ops;
# ``tangents`` holds one entry per input, None where the input's tangent is a symbolic zero
ForwardRule = Callable[..., Any]


class NotDifferentiable(BaseModel):
    """Marks an input whose derivative does not exist; needing it raises with this reason."""

    model_config = ConfigDict(frozen=True)
    reason: str


class OpDef(BaseModel):
    """One op: everything the dispatcher, the transformer and the checks need to know about it.

    ``infer(*abstract_values, **attrs)`` returns the output's ``AbstractValue`` or raises
    ``OpInputError`` saying what is wrong. ``backward`` has one entry per input: a rule, ``None``
    (the gradient is zero: comparisons, integer indices, stop_gradient) or ``NotDifferentiable``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    name: str
    inputs: tuple[str, ...]
    infer: Optional[Callable[..., Any]] = None
    backward: tuple[Optional[BackwardRule | NotDifferentiable], ...] = ()
    # instead of per-input rules: one rule returning a cotangent per input (user bprops)
    backward_all: Optional[Callable[..., Any]] = None
    # Taylor mode: taylor(out, *input_series, **attrs) -> the output's series (core/series.py),
    # written with series arithmetic and hograd ops; None: a jet cannot pass (clear error)
    taylor: Optional[Callable[..., Any]] = None
    # forward mode (JVP); most ops get it from a family helper (ops/families.py), and an op
    # without one cannot be differentiated in forward mode (a clear error says so)
    forward: Optional[ForwardRule] = None
    # vmap: batch(inputs, dims, **attrs) -> (output, its batch dim), the whole batch in one call
    # of ops (core/batching.py has the helpers); None: vmap loops over examples, with a warning
    batch: Optional[Callable[..., Any]] = None
    # takes any number of inputs (calls of subgraphs, Concat)
    variadic: bool = False
    # an op defined by other ops: composite(*inputs, **attrs) applies them and returns the
    # result (a Tensor or a tuple); no kernel, shape rule or backward rule of its own, so it
    # runs and differentiates wherever its parts do (Split, Norm)
    composite: Optional[Callable[..., Any]] = None
    attributes: Optional[type[BaseModel]] = None
    # attributes passed positionally at call time, after the tensors: ReduceSum()(x, axis)
    call_attributes: tuple[str, ...] = ()
    # how mixed input dtypes meet: "common" casts to the promoted dtype, "float" also turns
    # integers into float32, "none" leaves them to the shape rule
    promotion: Literal["none", "common", "float"] = "none"
    promoted_inputs: Optional[tuple[int, ...]] = None
    # an op run for its check, not its value (guards); never removed by dead-code elimination
    effect: bool = False
    # for ops whose kernel is the same on every device (constants, guards, calls of subgraphs)
    kernel_factory: Optional[Callable[[Any], Callable]] = None
    # where checks draw inputs from, and the points to avoid (kinks, poles)
    domain: tuple[float, float] = (-2.0, 2.0)
    functional: Optional[str] = None
    # emitted by the tracer itself (constants, guards, calls of subgraphs): not a user op, not
    # in the capability matrix
    internal: bool = False
    # listed in hograd.ops and `hograd ops`; ops that only derivatives use (adjoints) are not,
    # though they are checked like any other
    exposed: bool = True
    aliases: tuple[str, ...] = ()
    doc: str = ""
    # f(x, y) = f(y, x) for its two inputs: common-subexpression elimination merges both orders
    commutative: bool = False
    # its value as an expression of its inputs (and attributes) in the fusion language
    # (core/fusion.py), e.g. "(tanh(x * 0.5) + 1) * 0.5": devices with a fuser compile chains
    # of such ops into one kernel; None: it always runs its own kernel
    elementwise: Optional[str] = None
    # the reduction a fused group may end in ("sum": over the op's ``axis``, keeping its
    # ``keep_dims``), on devices whose fuser compiles it: a group's elementwise value is then
    # summed in its loop instead of written out and read again; None: it runs its own kernel
    fused_reduction: Optional[Literal["sum"]] = None
    # what core needs of it, by role (core/roles.py): "add", "cast", "fill", ...
    roles: tuple[str, ...] = ()
    # algebraic rewrites of a node of this op, tried in order by the simplifier
    # (core/passes.py): rule(match, node) -> a variable, a replacement node, or None
    rewrites: tuple[Callable[..., Any], ...] = ()
    # how the capability checks exercise it: sample inputs, the order claimed, expected failures
    # (most ops get theirs from their family helper); None: the op is reported unchecked
    checks: Optional[OpSpec] = None
    # replace an op another plugin registered under this name, an alias or the function name
    # (reported as an override); without it such a clash fails the plugin
    override: bool = False

    @field_validator("name")
    @classmethod
    def _name_is_identifier(cls, name: str) -> str:
        if not name.isidentifier():
            raise ValueError(f"op name {name!r} must be a Python identifier")
        return name

    @model_validator(mode="after")
    def _one_rule_per_input(self) -> "OpDef":
        if self.composite is None and self.infer is None:
            raise ValueError(f"op {self.name}: a shape rule (infer) is required")
        if (self.composite is None and self.backward_all is None and not self.variadic
                and len(self.backward) != len(self.inputs)):
            raise ValueError(
                f"op {self.name}: {len(self.inputs)} inputs but {len(self.backward)} backward rules")
        reasons = [rule.reason for rule in self.backward if isinstance(rule, NotDifferentiable)]
        if (self.checks is not None and self.checks.derivative == "none"
                and self.checks.reason is None and reasons):
            # the reason is written once, on the rule; the checks report it
            object.__setattr__(self, "checks", self.checks.model_copy(
                update={"reason": reasons[0]}))
        return self

    @field_validator("elementwise")
    @classmethod
    def _elementwise_in_the_fusion_language(cls, template: Optional[str]) -> Optional[str]:
        if template is not None:
            from .fusion import parse
            parse(template)
        return template

    @property
    def functional_name(self) -> str:
        return self.functional or _snake_case(self.name)

    def make_attrs(self, values: dict[str, Any]) -> dict[str, Any]:
        """Validate attributes against the schema; a clear error names the op and the attribute."""
        if self.attributes is None:
            if values:
                raise OpInputError(f"{self.name} takes no attributes, got {sorted(values)}")
            return {}
        try:
            model = self.attributes(**values)
        except ValidationError as err:
            problems = "; ".join(
                f"attribute {'.'.join(map(str, e['loc'])) or '?'}: {e['msg']}" for e in err.errors())
            unknown = sorted(set(values) - set(self.attributes.model_fields))
            if unknown:
                problems += did_you_mean(unknown, self.attributes.model_fields)
            raise OpInputError(f"{self.name}: {problems}") from None
        # field values as validated (model_dump would turn dataclasses such as graphs into dicts)
        return {name: getattr(model, name) for name in type(model).model_fields}


# spellings users bring from numpy and PyTorch, and the attribute meant
_FAMILIAR_SPELLINGS = {"keepdims": "keep_dims", "keepdim": "keep_dims", "dim": "axis",
                       "axes": "axis", "transpose_x": "transpose_a", "transpose_y": "transpose_b"}


def did_you_mean(unknown: list[str], fields) -> str:
    """'; did you mean keep_dims?' for misspelled attribute names, or ''."""
    import difflib
    guesses = []
    for name in unknown:
        guess = _FAMILIAR_SPELLINGS.get(name)
        if guess not in fields:
            close = difflib.get_close_matches(name, list(fields), n=1)
            guess = close[0] if close else None
        if guess:
            guesses.append(f"{guess} for {name}")
    return f"; did you mean {', '.join(guesses)}?" if guesses else ""


def _snake_case(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or
                                   (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


class StrictAttrs(BaseModel):
    """Base for attribute schemas: unknown attributes are errors, values are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True,
                              arbitrary_types_allowed=True)


def _to_dtype(value: Any):
    from .. import dtype as dt
    return dt.to_dtype(value)


# an attribute holding a hograd dtype; names ('float32') and numpy dtypes are accepted too
DTypeAttr = Annotated[Any, BeforeValidator(_to_dtype)]
