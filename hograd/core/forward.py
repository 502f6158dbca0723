"""The forward-mode transformer: a graph in, the graph of its Jacobian-vector product out.

``jvp_graph`` replays the forward graph node by node and, beside each node, applies its op's
forward rule to the tangents of its inputs, so the tangent of every output is computed in one
sweep alongside the values: about one forward pass, whatever the number of outputs. The rules
are written with hograd ops, so the result is a graph of registered ops like any other: it can
be differentiated again, in either mode (grad of jvp, jvp of grad, jvp of jvp), to any order.

What is generic lives here, not in the rules: symbolic zeros (an input without a tangent gets
no term; a node none of whose inputs has a tangent calls no rule), inputs whose backward rule
says "zero" (comparisons, indices, stop_gradient) carrying no tangent either, and the tangent's
shape and dtype fitted to the output's. Only float values carry tangents.
"""
from __future__ import annotations

from typing import Any, Sequence

from .dispatch import apply, where
from .errors import ForwardRuleMissing, NotDifferentiableError
from .ir import AbstractValue, Var
from .opdef import NotDifferentiable
from .passes import simplify
from .registry import registry
from .roles import role
from .trace import ClosedGraph, Trace


def jvp_graph(forward: ClosedGraph, wrt: Sequence[int], device) -> ClosedGraph:
    """Derive the graph of ``(inputs..., tangents of inputs[wrt]) -> (outputs..., tangents)``.

    The result's explicit inputs are all of ``forward.graph.inputs`` followed by one tangent per
    entry of ``wrt`` (shaped like that input); its outputs are the forward outputs followed by
    one tangent per output (zeros where no tangent reaches it).
    """
    graph = forward.graph
    with Trace(symbolic=True) as builder:
        primal = [builder.new_input(v.aval, None, device) for v in graph.inputs]
        seeds = [builder.new_input(graph.inputs[i].aval, None, device) for i in wrt]
        tangents = {graph.inputs[i]: seed for i, seed in zip(wrt, seeds)
                    if _carries_tangent(graph.inputs[i].aval.dtype)}
        env = push_tangents(graph, primal, tangents, device)
        outputs = [env[v] for v in graph.outputs]
        out_tangents = [tangents.get(v) if tangents.get(v) is not None else zeros(v.aval)
                        for v in graph.outputs]
        derived = builder.finish(outputs + out_tangents)
    return ClosedGraph(simplify(derived.graph), derived.captured, derived.n_explicit)


def push_tangents(graph, primal: Sequence[Any], tangents: dict[Var, Any], device
                  ) -> dict[Var, Any]:
    """Replay ``graph`` on ``primal`` and fill ``tangents`` (variable -> tangent) as it goes.

    Returns the replayed value of every variable. ``tangents`` holds the inputs' tangents on
    entry and every float variable's non-zero tangent on exit."""
    reg = registry()
    env: dict[Var, Any] = dict(zip(graph.inputs, primal))
    for node in graph.nodes:
        opdef = reg.op(node.op)
        inputs = [env[v] for v in node.inputs]
        attrs = node.attr_dict
        out = env[node.out] = apply(opdef, inputs, attrs, validated=True)
        dtype = node.out.aval.dtype
        if not _carries_tangent(dtype):
            continue
        # integers carry tangents in their own dtype from integer inputs, as in reverse mode;
        # a float rounded to an integer carries none (rounding has derivative zero)
        incoming = [tangents.get(v) if dtype.is_float or v.aval.dtype.is_integer else None
                    for v in node.inputs]
        if not opdef.variadic and opdef.backward_all is None:
            for position, rule in enumerate(opdef.backward):
                if incoming[position] is None:
                    continue
                if rule is None:
                    # a zero derivative by definition: no tangent passes
                    incoming[position] = None
                elif isinstance(rule, NotDifferentiable):
                    raise NotDifferentiableError(
                        f"{opdef.name}: input '{opdef.inputs[position]}' is not differentiable "
                        f"({rule.reason}), but the forward-mode derivative asked for depends on "
                        f"it (device {device.name}, {where()}). Wrap that input in "
                        f"ops.stop_gradient(...) if a zero derivative is what you want.")
        if all(t is None for t in incoming):
            continue
        if opdef.forward is None:
            raise ForwardRuleMissing(
                f"Forward-mode (JVP) rule for '{opdef.name}' not implemented (device "
                f"{device.name}, {where()}); give its OpDef a forward rule (ops/families.py "
                f"has helpers) or differentiate it in reverse mode (grad, vjp, jacrev)")
        tangent = opdef.forward(incoming, out, *inputs, **attrs)
        if tangent is not None:
            tangents[node.out] = fit(tangent, node.out.aval)
    return env


def _carries_tangent(dtype) -> bool:
    return dtype.is_float or dtype.is_integer


def fit(tangent, aval: AbstractValue):
    """A rule's tangent with the output's shape (a smaller one broadcasts) and dtype."""
    if tangent.shape != aval.shape:
        tangent = apply(role("broadcast_to"), (tangent,), {"shape": aval.shape})
    if tangent.dtype is not aval.dtype:
        tangent = apply(role("cast"), (tangent,), {"dtype": aval.dtype})
    return tangent


def zeros(aval: AbstractValue):
    """A zero tangent of ``aval``."""
    return apply(role("fill"), (), {"shape": aval.shape, "dtype": aval.dtype, "value": 0.0
                              if aval.dtype.is_float else 0 if aval.dtype.is_integer else False})
