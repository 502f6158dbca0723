"""The Taylor-mode transformer: push truncated power series through a traced graph.

The sibling of ``transform.py``: a graph in, ops out. ``propagate`` replays a traced graph
through the dispatcher with a ``Series`` (``core/series.py``) for each input and returns a
series for each output. Every coefficient is made by hograd ops, so inside a trace the result
is a graph of plain ops that runs, compiles and differentiates again (a jet inside a loss is
trained with reverse mode w.r.t. the weights).

What is generic lives here, not in the rules: a value no input series reaches stays a constant
series (no rule is called, no node made for its higher coefficients), as do non-float values and
outputs whose every moving input has a zero derivative (comparisons, ``stop_gradient``);
effects (guards) run on the primal only. Everything else asks the op's ``taylor`` rule, and an
op without one fails with an error naming it.
"""
from __future__ import annotations

from typing import Sequence

from .dispatch import apply, where
from .errors import HogradError, NotDifferentiableError
from .ir import Graph, Var
from .opdef import NotDifferentiable, OpDef
from .registry import registry
from .series import Series


class NoTaylorRuleError(HogradError, NotImplementedError):
    """A jet (Taylor mode, ``derivative``, ``laplacian``) passed through an op without a rule."""


def propagate(graph: Graph, inputs: Sequence[Series]) -> list[Series]:
    """The series of ``graph``'s outputs, given a series for each of its inputs."""
    if len(inputs) != len(graph.inputs):
        raise ValueError(f"graph takes {len(graph.inputs)} inputs, got {len(inputs)}")
    env: dict[Var, Series] = dict(zip(graph.inputs, inputs))
    reg = registry()
    for node in graph.nodes:
        opdef = reg.op(node.op)
        series = [env[v] for v in node.inputs]
        attrs = node.attr_dict
        out = apply(opdef, [s.primal for s in series], attrs, validated=True)
        if _stays_constant(opdef, series, out):
            env[node.out] = Series.of_constant(out)
        elif opdef.taylor is None:
            raise NoTaylorRuleError(
                f"Taylor mode: {opdef.name} has no Taylor rule, and the jet passes through its "
                f"input(s) {', '.join(_moving_inputs(opdef, series))} ({where()}). Ops with rules "
                f"are listed in the 'taylor' column of docs/capabilities.md; write the function "
                f"with those, or use nested GradOperation for this one")
        else:
            env[node.out] = opdef.taylor(out, *series, **attrs)
    return [env[v] for v in graph.outputs]


def _moving_inputs(opdef: OpDef, series: Sequence[Series]) -> list[str]:
    names = (opdef.inputs * len(series))[:len(series)] if opdef.variadic else opdef.inputs
    return [f"'{name}'" for name, s in zip(names, series) if not s.constant]


def _stays_constant(opdef: OpDef, series: Sequence[Series], out) -> bool:
    """Whether the output's series is its primal alone, with no rule needed."""
    if not out.dtype.is_float or all(s.constant for s in series):
        return True
    if opdef.effect:  # guards check the primal; an effect that passes a value on has a rule
        return opdef.taylor is None
    if opdef.backward_all is not None or opdef.variadic:
        return False
    for position, (s, rule) in enumerate(zip(series, opdef.backward)):
        if s.constant or rule is None:
            continue
        if isinstance(rule, NotDifferentiable):
            raise NotDifferentiableError(
                f"Taylor mode: {opdef.name}: input '{opdef.inputs[position]}' is not "
                f"differentiable ({rule.reason}), but the jet passes through it ({where()}); "
                f"wrap it in ops.stop_gradient(...) if a constant is what you want")
        return False
    return True
