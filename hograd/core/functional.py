"""MindSpore 2.x's functional transforms: ``grad``, ``value_and_grad``, ``jvp``, ``vjp``,
``jacfwd``, ``jacrev``, and beyond MindSpore ``hessian`` and ``hvp``.

Each transform traces ``fn`` into a graph, derives it (``core/transform.vjp_graph`` for reverse
mode, ``core/forward.jvp_graph`` for forward mode) and calls the derived graph:

- inside an enclosing trace (a Cell's ``construct``, a gradient function, another transform)
  the derived graph is inlined there, so the enclosing graph holds plain ops and any transform
  — or ``GradOperation`` — differentiates it again: that is how they compose, to any order;
- at top level in ``GRAPH_MODE`` the whole call is compiled and cached per input signature
  (and per transform options), like a ``jit`` function;
- in ``PYNATIVE_MODE`` it traces anew on every call, so it sees the Python state of now, as
  ``GradOperation`` does there.

``jacfwd`` and ``jacrev`` build the Jacobian from the JVP batched over the input's basis
vectors, or the VJP batched over the output's (``vmap``'s transformer, ``core/batching.py``):
one pass of batched ops, not a loop.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Sequence

import numpy as np

from .batching import move_axis, push_batched, to_front
from .cache import FunctionCaches
from .compiled import call_compiled
from .dispatch import apply
from .errors import GradArgumentError
from .forward import jvp_graph
from .grad import GradOperation, _count_leaves, _gradient_like, _name
from .ir import Graph
from .pytree import TENSOR, flatten, unflatten
from .replay import call_graph
from .roles import role
from .trace import (ClosedGraph, Trace, carries_derivative, current_trace, grad_scope,
                    weight_aliases)
from .transform import vjp_graph

__all__ = ["grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "hessian", "hvp"]

# top-level compiled variants, per transform and per function (held weakly)
_CACHES: dict[str, FunctionCaches] = defaultdict(FunctionCaches)


def _run(kind: str, fn: Callable, weights: tuple, options: tuple, body: Callable,
         args: tuple) -> Any:
    """``body(*args)``: inlined in a trace, traced anew in PyNative, compiled in graph mode.

    Compiled variants are cached per ``fn`` and ``weights``, and keyed by the transform's
    ``options`` (hashable) beside the input signature: ``jacfwd(f, 0)`` and ``jacfwd(f, 1)``
    share ``f`` but not a graph."""
    from .context import GRAPH_MODE, current_mode
    if current_trace() is not None or current_mode() != GRAPH_MODE:
        return body(*args)
    return call_compiled(_CACHES[kind].for_function(fn, weights),
                         lambda _options, *inputs: body(*inputs), (options, *args), {})


# ---- tracing ------------------------------------------------------------------------------------
class _Traced:
    """``fn`` traced at given arguments: its graph, how to read it, and what to bind to it."""

    def __init__(self, fn: Callable, args: tuple, differentiated: set[int],
                 weights: tuple = (), has_aux: bool = False, what: str = "",
                 aliases: tuple = ()) -> None:
        from .context import current_device
        self.leaves, self.structure = flatten(tuple(args))
        self.device = self.leaves[0]._device if self.leaves else current_device()
        with grad_scope():
            with Trace() as trace:
                inner = [trace.new_input(t._aval, t._value, t._device,
                                         differentiated=i in differentiated or
                                         carries_derivative(t))
                         for i, t in enumerate(self.leaves)]
                # ``aliases``: which arguments were the weights at the call (compiled, the
                # arguments here are stand-ins, so identity cannot tell)
                weight_vars = trace.bind_weights(weights, inner,
                                                 aliases or (None,) * len(weights))
                result = fn(*unflatten(self.structure, inner))
                out_leaves, self.out_structure = flatten(result)
                if not out_leaves:
                    raise GradArgumentError(f"{what}: {_name(fn)} returned no Tensor "
                                            f"({type(result).__name__}); there is nothing to "
                                            f"differentiate")
                self.forward = trace.finish(out_leaves)
        self.weight_positions = [self.forward.graph.inputs.index(v) for v in weight_vars]
        # the differentiated outputs: all, or with has_aux only the first output's leaves
        self.n_differentiated = len(out_leaves)
        self.aux_structures: tuple = ()
        if has_aux:
            kind = self.out_structure[0] if self.out_structure != TENSOR else None
            if kind not in ("tuple", "list") or len(self.out_structure[1]) < 2:
                raise GradArgumentError(f"{what}(has_aux=True): {_name(fn)} must return more "
                                        f"than one output (the first is differentiated, the "
                                        f"others are returned as they are)")
            self.main_structure = self.out_structure[1][0]
            self.aux_structures = self.out_structure[1][1:]
            self.n_differentiated = _count_leaves(self.main_structure)
        else:
            self.main_structure = self.out_structure

    @property
    def differentiated_graph(self) -> ClosedGraph:
        graph = self.forward.graph
        if self.n_differentiated == len(graph.outputs):
            return self.forward
        return ClosedGraph(Graph(graph.inputs, graph.nodes, graph.outputs[:self.n_differentiated]),
                           self.forward.captured, self.forward.n_explicit)

    @property
    def bound(self) -> list:
        """What the forward graph's inputs are bound to: the arguments, then its captures."""
        return [*self.leaves, *self.forward.captured]

    def values(self) -> list:
        """The forward outputs (inlined into an enclosing trace, where CSE merges them with the
        derivative graph's own replay of the forward pass)."""
        return call_graph(self.forward.graph, self.bound)

    def aux(self, values: list) -> tuple:
        """The auxiliary outputs, undifferentiated (a derivative taken outside passes none)."""
        rest = [apply(role("stop_gradient"), (v,)) for v in values[self.n_differentiated:]]
        return unflatten(("tuple", self.aux_structures), rest)


def _argument_leaves(structure: Any) -> list[tuple[Any, list[int]]]:
    """Per positional argument: its structure and the positions of its tensors among leaves."""
    found, leaf = [], 0
    for child in structure[1]:
        count = _count_leaves(child)
        found.append((child, list(range(leaf, leaf + count))))
        leaf += count
    return found


def _positions(grad_position: Any, n_args: int, what: str, allow_none: bool) -> tuple | None:
    if grad_position is None and allow_none:
        return None
    items = grad_position if isinstance(grad_position, tuple) else (grad_position,)
    if not items or not all(isinstance(p, int) and not isinstance(p, bool) for p in items):
        raise GradArgumentError(f"{what}: grad_position must be an int or a tuple of ints, got "
                                f"{grad_position!r}")
    for p in items:
        if not -n_args <= p < n_args:
            raise GradArgumentError(f"{what}: grad_position {p} is out of range for "
                                    f"{n_args} argument(s)")
    return tuple(p % n_args for p in items)


def _weights_tuple(weights: Any, what: str) -> tuple[tuple, bool]:
    from .tensor import Parameter
    if weights is None:
        return (), False
    if isinstance(weights, Parameter):
        return (weights,), True
    if isinstance(weights, (tuple, list)) and all(isinstance(w, Parameter) for w in weights):
        return tuple(weights), False
    raise GradArgumentError(f"{what}: weights must be a Parameter, a ParameterTuple or a list of "
                            f"Parameters, got {type(weights).__name__}")


def _check_callable(fn: Any, what: str) -> None:
    if not callable(fn):
        raise GradArgumentError(f"{what}: expected a function or Cell to differentiate, got "
                                f"{type(fn).__name__}")


# ---- grad and value_and_grad --------------------------------------------------------------------
class _GradTransform:
    """What ``grad``/``value_and_grad`` return: call it with ``fn``'s inputs."""

    def __init__(self, fn: Callable, grad_position: Any, weights: Any, has_aux: bool,
                 return_ids: bool, with_value: bool) -> None:
        self.what = "value_and_grad" if with_value else "grad"
        _check_callable(fn, self.what)
        if grad_position is None and weights is None:
            raise GradArgumentError(f"{self.what}: grad_position and weights cannot both be "
                                    f"None: there would be nothing to differentiate")
        self.fn = fn
        self.grad_position = grad_position
        self.weights, self.single_weight = _weights_tuple(weights, self.what)
        self.has_aux = bool(has_aux)
        self.return_ids = bool(return_ids)
        self.with_value = with_value

    @property
    def __name__(self) -> str:
        return f"the {self.what} of {_name(self.fn)}"

    def __call__(self, *args: Any) -> Any:
        aliases = weight_aliases(self.weights, flatten(tuple(args))[0])
        options = (self.grad_position, self.has_aux, self.return_ids, self.single_weight,
                   aliases)
        return _run(self.what, self.fn, self.weights, options,
                    lambda *inputs: self._body(*inputs, aliases=aliases), args)

    def _body(self, *args: Any, aliases: tuple = ()) -> Any:
        positions = _positions(self.grad_position, len(args), self.what, allow_none=True) \
            if args else None
        if positions is None and self.grad_position is not None:
            raise GradArgumentError(f"{self.what}: {_name(self.fn)} got no arguments to "
                                    f"differentiate")
        arguments = _argument_leaves(flatten(tuple(args))[1])
        wrt: list[int] = []
        for p in positions or ():
            if not arguments[p][1]:
                raise GradArgumentError(
                    f"{self.what}: argument {p} of {_name(self.fn)} is a "
                    f"{type(args[p]).__name__}, not a Tensor; grad_position must name Tensor "
                    f"arguments (pass Tensor(0.5), not 0.5)")
            wrt += arguments[p][1]
        traced = _Traced(self.fn, args, set(wrt), self.weights, self.has_aux, self.what,
                         aliases=aliases)
        backward = vjp_graph(traced.differentiated_graph, wrt + traced.weight_positions, False,
                             traced.device)
        grads = call_graph(backward.graph, [*traced.bound, *backward.captured])
        position_grads = iter(grads[:len(wrt)])
        per_position = [_gradient_like(arguments[p][0], position_grads) for p in positions or ()]
        if self.return_ids:
            per_position = [(p, g) for p, g in zip(positions or (), per_position)]
        weight_grads = list(grads[len(wrt):])
        if self.return_ids:
            weight_grads = [(w.name, g) for w, g in zip(self.weights, weight_grads)]
        inputs_result = (per_position[0] if isinstance(self.grad_position, int)
                         else tuple(per_position))
        weights_result = weight_grads[0] if self.single_weight else tuple(weight_grads)
        if not self.weights:
            result = inputs_result
        elif positions is None:
            result = weights_result
        else:
            result = (inputs_result, weights_result)
        if not (self.with_value or self.has_aux):
            return result
        values = traced.values()
        if self.with_value:
            if self.has_aux:
                main = unflatten(traced.main_structure, values[:traced.n_differentiated])
                value = (main, *traced.aux(values))
            else:
                value = unflatten(traced.out_structure, values)
            return value, result
        return result, traced.aux(values)


def grad(fn: Callable, grad_position: Any = 0, weights: Any = None, has_aux: bool = False,
         return_ids: bool = False) -> Callable:
    """The gradient function of ``fn``, MindSpore 2.x style.

    ``grad_position``: an int (one gradient) or a tuple of ints (a tuple of gradients), or None
    with ``weights`` to differentiate weights only; ``weights``: a Parameter (one gradient), a
    list or ParameterTuple (a tuple); with both, ``(inputs_grads, weights_grads)``. Tuple outputs
    are summed; with ``has_aux`` only the first output is differentiated and the call returns
    ``(gradients, aux)``, ``aux`` a tuple of the other outputs, unchanged and undifferentiated.
    ``return_ids`` pairs each gradient with its position or its Parameter's name.

    >>> grad(lambda x, y: x * x * y, grad_position=(0, 1))(Tensor(2.0), Tensor(3.0))  # (12, 4)
    """
    return _GradTransform(fn, grad_position, weights, has_aux, return_ids, with_value=False)


def value_and_grad(fn: Callable, grad_position: Any = 0, weights: Any = None,
                   has_aux: bool = False, return_ids: bool = False) -> Callable:
    """Like ``grad``, but the call returns ``(fn's output, gradients)``; with ``has_aux`` the
    output is all of ``fn``'s outputs and only the first is differentiated."""
    return _GradTransform(fn, grad_position, weights, has_aux, return_ids, with_value=True)


# ---- jvp and vjp --------------------------------------------------------------------------------
def _as_inputs(inputs: Any, what: str, name: str = "inputs") -> tuple:
    from .tensor import Tensor
    if isinstance(inputs, Tensor):
        return (inputs,)
    if isinstance(inputs, (tuple, list)) and all(isinstance(t, Tensor) for t in inputs):
        return tuple(inputs)
    raise GradArgumentError(f"{what}: {name} must be a Tensor or a tuple of Tensors, got "
                            f"{type(inputs).__name__}")


def jvp(fn: Callable, inputs: Any, v: Any, has_aux: bool = False) -> tuple:
    """The Jacobian-vector product of ``fn`` at ``inputs`` along ``v``, in forward mode.

    ``inputs`` is a Tensor or a tuple of Tensors (``fn(*inputs)``), ``v`` the same structure.
    Returns ``(outputs, jvp_out)``, ``jvp_out`` shaped like the outputs; with ``has_aux``,
    ``(first output, its jvp, aux)``. Costs about one forward pass of ``fn``.

    >>> ops.jvp(ops.sin, Tensor([0.0, 1.0]), Tensor([1.0, 1.0]))   # (sin x, cos x)
    """
    _check_callable(fn, "jvp")
    primals = _as_inputs(inputs, "jvp")
    tangents = _as_inputs(v, "jvp", "v")
    if len(tangents) != len(primals):
        raise GradArgumentError(f"jvp: v must have one tangent per input: {len(primals)} "
                                f"input(s), {len(tangents)} tangent(s)")
    for index, (x, t) in enumerate(zip(primals, tangents)):
        if t.shape != x.shape:
            raise GradArgumentError(f"jvp: v[{index}] has shape {t.shape} but input {index} has "
                                    f"shape {x.shape}")
    return _run("jvp", fn, (), (bool(has_aux),),
                lambda xs, ts: _jvp_body(fn, bool(has_aux), xs, ts), (primals, tangents))


def _jvp_body(fn: Callable, has_aux: bool, primals: tuple, tangents: tuple) -> tuple:
    wrt = list(range(len(primals)))
    traced = _Traced(fn, primals, set(wrt), has_aux=has_aux, what="jvp")
    derived = jvp_graph(traced.differentiated_graph, wrt, traced.device)
    seeds = [t if t.dtype is x.dtype else apply(role("cast"), (t,), {"dtype": x.dtype})
             for t, x in zip(tangents, primals)]
    results = call_graph(derived.graph, [*traced.bound, *seeds, *derived.captured])
    n = traced.n_differentiated
    outputs = unflatten(traced.main_structure, results[:n])
    jvp_out = unflatten(traced.main_structure, results[n:])
    if has_aux:
        return outputs, jvp_out, traced.aux(traced.values())
    return outputs, jvp_out


_VJP_OPS = {False: GradOperation(get_all=True, sens_param=True),
            True: GradOperation(get_all=True, get_by_list=True, sens_param=True)}


class _FirstOutput:
    """``fn`` with only its first output: what ``has_aux`` differentiates."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn
        self.__name__ = _name(fn)

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)[0]


def vjp(fn: Callable, *inputs: Any, weights: Any = None, has_aux: bool = False) -> tuple:
    """``(outputs, vjp_fn)``: ``vjp_fn(v)`` is ``vᵀ·J``, a tuple with one gradient per input
    (and ``(inputs_grads, weights_grads)`` with ``weights``); ``v`` is shaped like the outputs
    (several tensors for tuple outputs: ``vjp_fn(v1, v2)``). With ``has_aux``:
    ``(first output, vjp_fn of it, aux)``.

    >>> out, vjp_fn = ops.vjp(lambda x: x ** 3, Tensor([2.0]))
    >>> vjp_fn(Tensor([1.0]))          # (12,)
    """
    _check_callable(fn, "vjp")
    if len(inputs) == 1 and isinstance(inputs[0], (tuple, list)):
        inputs = tuple(inputs[0])  # MindSpore ≥ 2.2 passes the inputs as one tuple
    primals = _as_inputs(tuple(inputs), "vjp")
    weight_tuple, single = _weights_tuple(weights, "vjp")
    outputs = fn(*primals)
    differentiated = _FirstOutput(fn) if has_aux else fn
    if has_aux:
        if not isinstance(outputs, (tuple, list)) or len(outputs) < 2:
            raise GradArgumentError(f"vjp(has_aux=True): {_name(fn)} must return more than one "
                                    f"output (the first is differentiated)")
        aux = tuple(apply(role("stop_gradient"), (o,)) for o in outputs[1:])
        outputs = outputs[0]
    grad_op = _VJP_OPS[bool(weight_tuple)]
    gradient = (grad_op(differentiated, weight_tuple[0] if single else weight_tuple)
                if weight_tuple else grad_op(differentiated))

    def vjp_fn(*v: Any) -> Any:
        """``vᵀ·J`` for ``v`` shaped like the outputs."""
        try:
            return gradient(*primals, v[0] if len(v) == 1 else tuple(v))
        except GradArgumentError as err:  # the cotangent's words, in vjp's terms
            message = str(err).replace("GradOperation(sens_param=True): sens", "vjp_fn(v): v")
            raise GradArgumentError(message) from None

    return (outputs, vjp_fn, aux) if has_aux else (outputs, vjp_fn)


# ---- Jacobians ----------------------------------------------------------------------------------
class _JacobianTransform:
    """What ``jacfwd``/``jacrev`` return: call it with ``fn``'s inputs."""

    def __init__(self, fn: Callable, grad_position: Any, has_aux: bool, forward: bool) -> None:
        self.what = "jacfwd" if forward else "jacrev"
        _check_callable(fn, self.what)
        self.fn = fn
        self.grad_position = grad_position
        self.has_aux = bool(has_aux)
        self.forward_mode = forward

    @property
    def __name__(self) -> str:
        return f"the {self.what} of {_name(self.fn)}"

    def __call__(self, *args: Any) -> Any:
        return _run(self.what, self.fn, (), (self.grad_position, self.has_aux), self._body,
                    args)

    def _body(self, *args: Any) -> Any:
        positions = _positions(self.grad_position, len(args), self.what, allow_none=False)
        arguments = _argument_leaves(flatten(tuple(args))[1])
        wrt = []
        for p in positions:
            if arguments[p][0] != TENSOR:
                raise GradArgumentError(f"{self.what}: argument {p} of {_name(self.fn)} must be "
                                        f"a Tensor, got {type(args[p]).__name__}")
            wrt.append(arguments[p][1][0])
        traced = _Traced(self.fn, args, set(wrt), has_aux=self.has_aux, what=self.what)
        outs = traced.differentiated_graph.graph.outputs
        ins = [traced.leaves[i] for i in wrt]
        build = self._columns if self.forward_mode else self._rows
        blocks = build(traced, wrt, outs, ins)  # blocks[j][p]: d output j / d input p
        jac = [tuple(b) if isinstance(self.grad_position, tuple) else b[0] for b in blocks]
        result = unflatten(traced.main_structure, jac) if traced.main_structure != TENSOR \
            else jac[0]
        return (result, traced.aux(traced.values())) if self.has_aux else result

    @staticmethod
    def _rows(traced: _Traced, wrt: list[int], outs: Sequence, ins: list) -> list[list]:
        """Reverse mode: the VJP batched over one-hot cotangents, one row per output element."""
        backward = vjp_graph(traced.differentiated_graph, wrt, True, traced.device)
        blocks = []
        for j, out in enumerate(outs):
            sens = [_identity(o.aval) if k == j else _basis(o.aval, None)
                    for k, o in enumerate(outs)]
            dims = [None] * len(traced.bound) + [0 if k == j else None for k in range(len(outs))]
            grads = _batched_outputs(backward, [*traced.bound, *sens], dims, out.aval.size)
            blocks.append([apply(role("reshape"), (g,), {"shape": tuple(out.aval.shape) + tuple(x.shape)})
                           for g, x in zip(grads, ins)])
        return blocks

    @staticmethod
    def _columns(traced: _Traced, wrt: list[int], outs: Sequence, ins: list) -> list[list]:
        """Forward mode: the JVP batched over one-hot tangents, one column per input element."""
        derived = jvp_graph(traced.differentiated_graph, wrt, traced.device)
        columns: list[list] = [[None] * len(ins) for _ in outs]
        for p, x in enumerate(ins):
            seeds = [_identity(y.aval) if q == p else _basis(y.aval, None)
                     for q, y in enumerate(ins)]
            dims = [None] * len(traced.bound) + [0 if q == p else None for q in range(len(ins))]
            tangents = _batched_outputs(derived, [*traced.bound, *seeds], dims, x.size)
            for j, (out, tangent) in enumerate(zip(outs, tangents[len(outs):])):
                # (input element, *output shape) -> output shape + input shape
                last = move_axis(tangent, 0, tangent.ndim - 1)
                columns[j][p] = apply(role("reshape"), (last,), {"shape": tuple(out.aval.shape)
                                                           + tuple(x.shape)})
        return columns


def _batched_outputs(derived: ClosedGraph, inputs: list, dims: list, size: int) -> list:
    """The outputs of ``derived`` over a batch of seeds (``vmap``'s transformer), each with its
    batch axis first: one pass for all basis vectors instead of one call per vector."""
    env, batch_dims = push_batched(derived.graph, [*inputs, *derived.captured],
                                   [*dims, *[None] * len(derived.captured)])
    return [to_front(env[v], batch_dims[v], size) for v in derived.graph.outputs]


def _identity(aval):
    """The one-hot tensors of ``aval`` for every element, stacked: shape ``(size, *shape)``."""
    from .tensor import Tensor
    return Tensor(np.eye(aval.size, dtype=aval.dtype.numpy).reshape((aval.size,) + aval.shape))


def _basis(aval, element: int | None):
    """The one-hot tensor of ``aval`` at flat position ``element`` (zeros for None)."""
    from .tensor import Tensor
    array = np.zeros(aval.shape, aval.dtype.numpy)
    if element is not None:
        array.reshape(-1)[element] = 1
    return Tensor(array)


def jacfwd(fn: Callable, grad_position: Any = 0, has_aux: bool = False) -> Callable:
    """The Jacobian function of ``fn`` in forward mode (one JVP per input element): best for few
    inputs and many outputs. A Jacobian has shape ``output.shape + input.shape``; a tuple
    ``grad_position`` gives a tuple per output, several outputs a tuple of those. With
    ``has_aux``: ``(jacobian of the first output, aux)``.

    >>> ops.jacfwd(lambda x: x * x)(Tensor([1.0, 2.0]))     # [[2, 0], [0, 4]]
    """
    return _JacobianTransform(fn, grad_position, has_aux, forward=True)


def jacrev(fn: Callable, grad_position: Any = 0, has_aux: bool = False) -> Callable:
    """The Jacobian function of ``fn`` in reverse mode (one VJP per output element): best for
    many inputs and few outputs. Same results and structure as ``jacfwd``."""
    return _JacobianTransform(fn, grad_position, has_aux, forward=False)


def hessian(fn: Callable, grad_position: Any = 0) -> Callable:
    """The Hessian function of a scalar ``fn``: forward over reverse, ``jacfwd(jacrev(fn))``.

    Shape ``input.shape + input.shape``; a tuple ``grad_position`` gives the blocks
    ``H[i][j] = ∂²f/∂xᵢ∂xⱼ`` as a tuple of tuples.

    >>> hograd.hessian(lambda x: (x ** 3).sum())(Tensor([1.0, 2.0]))   # [[6, 0], [0, 12]]
    """
    return jacfwd(jacrev(fn, grad_position), grad_position)


def hvp(fn: Callable, inputs: Any, v: Any) -> Any:
    """The Hessian-vector product ``H·v`` of a scalar ``fn`` at ``inputs``, forward over reverse
    (a JVP of the gradient): about the cost of two gradients, however large the Hessian.
    ``inputs`` and ``v``: a Tensor, or tuples of Tensors (then a tuple is returned)."""
    primals = _as_inputs(inputs, "hvp")
    position = tuple(range(len(primals))) if isinstance(inputs, (tuple, list)) else 0
    return jvp(grad(fn, grad_position=position), inputs, v)[1]
