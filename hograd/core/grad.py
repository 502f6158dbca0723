"""``GradOperation``: MindSpore's gradient API on top of tracing and the transformer.

``GradOperation(get_all, get_by_list, sens_param)(fn[, weights])`` returns a gradient function.
Calling it traces ``fn`` into a graph, derives the vector-Jacobian-product graph and runs it.
Called inside an enclosing trace (a Cell's ``construct``, or another gradient function), it copies
the derivative graph into that trace instead, so the enclosing graph holds plain ops again and an
outer ``GradOperation`` differentiates it once more: that is how nesting reaches any order.
At top level, traced-and-derived graphs are compiled and cached per input signature.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .cache import FunctionCaches, VariantCache
from .compiled import run_executable
from .dispatch import apply
from .errors import GradArgumentError, TracingError
from .executor import compile_graph
from .pytree import TENSOR, flatten, signature, unflatten
from .replay import call_graph
from .roles import role
from .trace import (ClosedGraph, Trace, carries_derivative, current_trace, grad_scope,
                    weight_aliases)
from .transform import vjp_graph


class GradOperation:
    """Build gradient functions, MindSpore style.

    - default: the gradient w.r.t. the first input, a bare tensor;
    - ``get_all=True``: a tuple with the gradient of every tensor input;
    - ``get_by_list=True``: gradients w.r.t. ``weights`` (a tuple for a ParameterTuple or list, a
      bare tensor for one Parameter); with ``get_all`` too, ``(inputs_grads, weights_grads)``;
    - ``sens_param=True``: the gradient function takes ``sens`` last, shaped like ``fn``'s output
      (a tuple for tuple outputs); otherwise every output is weighted by ones.

    >>> grad = GradOperation()(lambda x: x * x * x)
    >>> GradOperation()(grad)(Tensor([2.0]))      # d²/dx² x³ = 6x
    """

    def __init__(self, get_all: bool = False, get_by_list: bool = False,
                 sens_param: bool = False) -> None:
        for name, value in (("get_all", get_all), ("get_by_list", get_by_list),
                            ("sens_param", sens_param)):
            if callable(value):
                raise GradArgumentError(
                    f"GradOperation takes its options first and the function second: "
                    f"GradOperation()(fn) or GradOperation(get_all=True)(fn); it got "
                    f"{_name(value)} as {name}")
            if not isinstance(value, bool):
                raise GradArgumentError(f"GradOperation: {name} must be True or False, got "
                                        f"{value!r} of type {type(value).__name__}")
        self.get_all = get_all
        self.get_by_list = get_by_list
        self.sens_param = sens_param
        self._caches = FunctionCaches()

    def __call__(self, fn: Callable, weights: Any = None) -> "GradFunction":
        from .tensor import Parameter
        if not callable(fn):
            raise GradArgumentError(f"GradOperation: expected a function or Cell to "
                                    f"differentiate, got {type(fn).__name__}")
        single = False
        if self.get_by_list:
            if weights is None:
                raise GradArgumentError(
                    "GradOperation(get_by_list=True) needs the weights to differentiate against: "
                    "grad_op(net, ParameterTuple(net.trainable_params()))")
            if isinstance(weights, Parameter):
                weights, single = (weights,), True
            elif isinstance(weights, (tuple, list)) and all(
                    isinstance(w, Parameter) for w in weights):
                weights = tuple(weights)
            else:
                raise GradArgumentError(
                    f"GradOperation: weights must be a Parameter, a ParameterTuple or a list of "
                    f"Parameters, got {type(weights).__name__}")
        elif weights is not None:
            raise GradArgumentError("GradOperation: weights were given but get_by_list=False; "
                                    "use GradOperation(get_by_list=True) to differentiate them")
        else:
            weights = ()
        return GradFunction(self, fn, weights, single)

    def _cache_for(self, fn: Callable, weights: tuple) -> VariantCache:
        return self._caches.for_function(fn, weights)


@dataclass(frozen=True)
class _Derived:
    """One traced-and-derived variant: the forward graph, its VJP graph and how to read them."""

    forward: ClosedGraph
    backward: ClosedGraph
    out_structure: Any
    # per differentiated argument, its structure: a Tensor, or a tuple/list/dict holding some
    argument_structures: tuple
    device: Any


class GradFunction:
    """The function ``GradOperation(...)(fn)`` returns; call it with ``fn``'s inputs (+ sens)."""

    @property
    def __name__(self) -> str:  # for messages about nested gradients
        return f"the gradient of {_name(self.fn)}"

    def __init__(self, op: GradOperation, fn: Callable, weights: tuple, single_weight: bool):
        self.op = op
        self.fn = fn
        self.weights = weights
        self.single_weight = single_weight

    def __call__(self, *args: Any) -> Any:
        sens = None
        if self.op.sens_param:
            if not args:
                raise GradArgumentError("GradOperation(sens_param=True): the gradient function "
                                        "takes fn's inputs followed by sens; got no arguments")
            if _takes(self.fn, len(args)) is True and _takes(self.fn, len(args) - 1) is False:
                raise GradArgumentError(
                    f"GradOperation(sens_param=True): the gradient function takes "
                    f"{_name(self.fn)}'s inputs followed by sens, but the {len(args)} "
                    f"argument(s) given are all inputs of {_name(self.fn)}: pass sens last, "
                    f"shaped like its output (ones for a plain gradient)")
            args, sens = args[:-1], args[-1]
        leaves, structure = flatten(args)
        if self.op.get_all and not self.op.get_by_list and not leaves:
            return ()  # MindSpore: nothing to differentiate gives an empty tuple, not an error
        if current_trace() is not None:
            derived = self._derive(leaves, structure)
            sens_leaves = self._sens_leaves(sens, derived)
            outputs = call_graph(derived.backward.graph, self._bind(derived, leaves, sens_leaves))
            return self._package(outputs, derived)
        from .context import GRAPH_MODE, current_device, current_mode
        if current_mode() != GRAPH_MODE:
            # PyNative runs op by op: each call traces anew, so it sees the Python state of now
            # (a changed closure or config value) as the forward call does
            derived = self._derive(leaves, structure)
            return self._run(derived, leaves, sens)
        device = leaves[0]._device if leaves else current_device()
        sens_key = None
        if sens is not None:
            sens_flat, sens_structure = flatten(sens)
            sens_key = (sens_structure, signature(sens_flat))
        key = (structure, signature(leaves), sens_key, device.name,
               weight_aliases(self.weights, leaves))
        cache = self.op._cache_for(self.fn, self.weights)
        return cache.call(key, lambda derived: self._run(derived, leaves, sens),
                          lambda: self._derive(leaves, structure))

    def graph(self, *args: Any):
        """The derived graph this function runs for ``args`` (same arguments as a call).

        >>> print(GradOperation()(GradOperation()(ops.sin)).graph(Tensor([1.0])))
        """
        if self.op.sens_param:
            args = args[:-1]
        leaves, structure = flatten(args)
        return self._derive(leaves, structure).backward.graph

    # ---- deriving -------------------------------------------------------------------------------
    def _derive(self, leaves: list, structure: Any) -> _Derived:
        from .context import current_device
        device = leaves[0]._device if leaves else current_device()
        arguments = _differentiable_arguments(structure)
        if self.op.get_all or not self.op.get_by_list:
            if not arguments and not self.op.get_all:
                given = ", ".join(type(a).__name__ for a in unflatten(structure, leaves)) or \
                    "no arguments"
                raise GradArgumentError(
                    f"GradOperation: {_name(self.fn)} got no Tensor input to differentiate "
                    f"against (its arguments: {given}); pass the values to differentiate as "
                    f"Tensors, e.g. Tensor(0.5) or Tensor(np.array([0.5]))")
            arguments = arguments if self.op.get_all else arguments[:1]
        else:
            arguments = []
        wrt = [leaf for _, leaves_of_argument in arguments for leaf in leaves_of_argument]
        differentiated = set(wrt)
        with grad_scope():
            with Trace() as trace:
                inner = [trace.new_input(t._aval, t._value, t._device,
                                         differentiated=i in differentiated or
                                         carries_derivative(t))
                         for i, t in enumerate(leaves)]
                weight_vars = trace.bind_weights(self.weights, inner,
                                                 weight_aliases(self.weights, leaves))
                result = self.fn(*unflatten(structure, inner))
                out_leaves, out_structure = flatten(result)
                if not out_leaves:
                    raise TracingError(f"GradOperation: {_name(self.fn)} returned no Tensor "
                                       f"({type(result).__name__}); there is nothing to "
                                       f"differentiate")
                forward = trace.finish(out_leaves)
            weight_positions = [forward.graph.inputs.index(v) for v in weight_vars]
            backward = vjp_graph(forward, list(wrt) + weight_positions,
                                 self.op.sens_param, device)
        return _Derived(forward, backward, out_structure,
                        tuple(shape for shape, _ in arguments), device)

    def _sens_leaves(self, sens: Any, derived: _Derived) -> list:
        if not self.op.sens_param:
            return []
        sens_leaves, sens_structure = flatten(sens)
        if sens_structure != derived.out_structure:
            raise GradArgumentError(
                f"GradOperation(sens_param=True): sens must mirror the output of "
                f"{_name(self.fn)}: expected {_describe(derived.out_structure)}, got "
                f"{_describe(sens_structure)}")
        fixed = []
        for index, (given, out_var) in enumerate(zip(sens_leaves, derived.forward.graph.outputs)):
            if given.shape != out_var.aval.shape:
                raise GradArgumentError(
                    f"GradOperation(sens_param=True): sens[{index}] has shape {given.shape} but "
                    f"output {index} of {_name(self.fn)} has shape {out_var.aval.shape}")
            if given.dtype is not out_var.aval.dtype:
                given = apply(role("cast"), (given,), {"dtype": out_var.aval.dtype})
            fixed.append(given)
        return fixed

    def _bind(self, derived: _Derived, leaves: list, sens_leaves: list) -> list:
        return [*leaves, *derived.forward.captured, *sens_leaves, *derived.backward.captured]

    def _run(self, derived: _Derived, leaves: list, sens: Any) -> Any:
        from .tensor import Tensor
        tensors = self._bind(derived, leaves, self._sens_leaves(sens, derived))
        arrays = run_executable(compile_graph(derived.backward.graph, derived.device),
                                [t._data for t in tensors])
        outputs = [Tensor._traced(a, v.aval, derived.device, None, None)
                   for a, v in zip(arrays, derived.backward.graph.outputs)]
        return self._package(outputs, derived)

    def _package(self, outputs: list, derived: _Derived) -> Any:
        """Gradients in MindSpore's structure; a container argument gets a container back."""
        grads = iter(outputs[:len(outputs) - len(self.weights)])
        inputs = tuple(_gradient_like(shape, grads) for shape in derived.argument_structures)
        weights = tuple(outputs[len(outputs) - len(self.weights):])
        if self.op.get_by_list:
            weights_result = weights[0] if self.single_weight else weights
            return (inputs, weights_result) if self.op.get_all else weights_result
        return inputs if self.op.get_all else inputs[0]


def _differentiable_arguments(structure: Any) -> list[tuple[Any, list[int]]]:
    """The arguments holding tensors: each one's structure and the leaf positions in it."""
    found, leaf = [], 0
    for child in structure[1]:
        count = _count_leaves(child)
        if count:
            found.append((child, list(range(leaf, leaf + count))))
        leaf += count
    return found


def _gradient_like(structure: Any, grads) -> Any:
    """An argument's structure with gradients for its tensors and None for anything else."""
    if structure == TENSOR:
        return next(grads)
    kind = structure[0]
    if kind == "static":
        return None
    if kind == "dict":
        return {k: _gradient_like(child, grads) for k, child in zip(structure[1], structure[2])}
    children = [_gradient_like(child, grads) for child in structure[1]]
    return tuple(children) if kind == "tuple" else children


def _count_leaves(node: Any) -> int:
    if node == TENSOR:
        return 1
    if node[0] == "static":
        return 0
    children = node[2] if node[0] == "dict" else node[1]
    return sum(_count_leaves(c) for c in children)


def _describe(structure: Any) -> str:
    if structure == TENSOR:
        return "a Tensor"
    kind = structure[0]
    if kind == "static":
        return f"a {structure[1]}"
    if kind == "dict":
        return "a dict"
    return f"a {kind} of {len(structure[1])} (" + ", ".join(
        _describe(c) for c in structure[1]) + ")"


def _takes(fn: Any, count: int) -> bool | None:
    """Whether ``fn`` accepts ``count`` positional arguments; None when it cannot be told."""
    import inspect
    if isinstance(fn, GradFunction):
        return _takes(fn.fn, count - (1 if fn.op.sens_param else 0))
    target = getattr(fn, "construct", fn)
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return None
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return None if count >= len([p for p in positional if p.default is p.empty]) else False
    required = [p for p in positional if p.default is p.empty]
    return len(required) <= count <= len(positional)


def _name(fn: Any) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__
