"""The reverse-mode transformer: a graph in, a graph of its vector-Jacobian product out.

The output graph computes the forward pass (as much of it as the gradients need) and then the
cotangents, using only registered ops — so it can be transformed again, to any order. What is
generic lives here, not in the rules: symbolic zeros (an input no output depends on gets no rule
call), summing of fan-out, undoing broadcasting by reduction, and the dtype of each cotangent.
"""
from __future__ import annotations

from typing import Any, Sequence

from .dispatch import apply, where
from .errors import NotDifferentiableError
from .ir import AbstractValue, Var
from .opdef import NotDifferentiable
from .passes import simplify
from .registry import registry
from .replay import replay
from .roles import role
from .trace import ClosedGraph, Trace


def vjp_graph(forward: ClosedGraph, wrt: Sequence[int], with_sens: bool, device) -> ClosedGraph:
    """Derive the graph of ``(inputs..., [sens per output]) -> cotangents of inputs[wrt]``.

    Without ``with_sens`` each output's cotangent is ones (the outputs are summed). The result's
    explicit inputs are all of ``forward.graph.inputs`` followed by the sens inputs; anything a
    user ``bprop`` captured trails them.
    """
    graph = forward.graph
    reg = registry()
    with Trace(symbolic=True) as builder:
        primal = [builder.new_input(v.aval, None, device) for v in graph.inputs]
        sens = ([builder.new_input(v.aval, None, device) for v in graph.outputs]
                if with_sens else None)
        env = replay(graph, primal)
        active = _active_vars(graph, wrt)
        cotangents: dict[Var, Any] = {}
        for index, out_var in enumerate(graph.outputs):
            if out_var in active:
                seed = sens[index] if sens is not None else _filled(out_var.aval, 1)
                _accumulate(cotangents, out_var, seed)
        for node in reversed(graph.nodes):
            cotangent = cotangents.pop(node.out, None)
            if cotangent is None:
                continue
            opdef = reg.op(node.op)
            attrs = node.attr_dict
            inputs = [env[v] for v in node.inputs]
            joint = (opdef.backward_all(cotangent, env[node.out], *inputs, **attrs)
                     if opdef.backward_all is not None else None)
            for position, var in enumerate(node.inputs):
                if var not in active:
                    continue
                if joint is not None:
                    if joint[position] is not None:
                        _accumulate(cotangents, var, _fit(joint[position], var.aval))
                    continue
                rule = opdef.backward[position]
                if rule is None:
                    continue
                if isinstance(rule, NotDifferentiable):
                    raise NotDifferentiableError(
                        f"{opdef.name}: input '{opdef.inputs[position]}' is not differentiable "
                        f"({rule.reason}), but the gradient asked for depends on it "
                        f"(device {device.name}, {where()}). Wrap that input in "
                        f"ops.stop_gradient(...) if a zero gradient is what you want.")
                contribution = rule(cotangent, env[node.out], *inputs, **attrs)
                if contribution is not None:
                    _accumulate(cotangents, var, _fit(contribution, var.aval))
        grads = []
        for index in wrt:
            var = graph.inputs[index]
            grad = cotangents.get(var)
            grads.append(grad if grad is not None else _filled(var.aval, 0))
        derived = builder.finish(grads)
    return ClosedGraph(simplify(derived.graph), derived.captured, derived.n_explicit)


def _active_vars(graph, wrt: Sequence[int]) -> set[Var]:
    """Variables that depend differentiably on a differentiated input.

    Only they carry cotangents; a path through an input whose rule is ``None`` (stop_gradient,
    a comparison) carries none, so nothing past it asks for a derivative. Integer variables
    carry cotangents (in their own dtype, as in MindSpore) when they come from an integer input
    being differentiated; a float turned into an integer (a Cast that rounds) carries none,
    since rounding has derivative zero. Booleans never do.
    """
    reg = registry()
    active = {graph.inputs[i] for i in wrt if _carries_cotangent(graph.inputs[i].aval)}
    for node in graph.nodes:
        dtype = node.out.aval.dtype
        if not _carries_cotangent(node.out.aval):
            continue
        opdef = reg.op(node.op)
        if any(v in active and (opdef.backward_all is not None or opdef.variadic or
                                opdef.backward[i] is not None)
               and (dtype.is_float or v.aval.dtype.is_integer)
               for i, v in enumerate(node.inputs)):
            active.add(node.out)
    return active


def _carries_cotangent(aval: AbstractValue) -> bool:
    return aval.dtype.is_float or aval.dtype.is_integer


def _accumulate(cotangents: dict, var: Var, contribution) -> None:
    earlier = cotangents.get(var)
    cotangents[var] = (contribution if earlier is None
                       else apply(role("add"), (earlier, contribution)))


def _filled(aval: AbstractValue, value: float):
    return apply(role("fill"), (), {"shape": aval.shape, "dtype": aval.dtype,
                                    "value": float(value)})


def _fit(cotangent, aval: AbstractValue):
    """Sum a broadcast cotangent back to the input's shape and give it the input's dtype."""
    if cotangent.shape != aval.shape:
        if len(cotangent.shape) <= len(aval.shape) and all(
                c in (1, s) for c, s in zip(cotangent.shape[::-1], aval.shape[::-1])):
            # a rule may return a smaller cotangent that broadcasts (a user bprop's scalar 0)
            cotangent = apply(role("broadcast_to"), (cotangent,), {"shape": aval.shape})
        else:
            cotangent = unbroadcast(cotangent, aval.shape)
    if cotangent.dtype is not aval.dtype:
        cotangent = apply(role("cast"), (cotangent,), {"dtype": aval.dtype})
    return cotangent


def unbroadcast(value, shape: tuple[int, ...]):
    """The adjoint of broadcasting ``shape`` to ``value.shape``: sum the broadcast axes away."""
    extra = value.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and value.shape[extra + i] != 1)
    if axes:
        value = apply(role("reduce_sum"), (value,), {"axis": axes, "keep_dims": True})
    if value.shape != shape:
        value = apply(role("reshape"), (value,), {"shape": tuple(shape)})
    return value
