"""``vmap(fn, in_axes=0, out_axes=0)``: MindSpore 2.x's vectorizing map, as a graph transform.

The call traces ``fn`` once on one example (each batched argument without its batch axis,
holding the values of example 0), then replays the traced graph on the whole batch with the
ops' batching rules (``core/batching.py``): the batched computation is one call per op, not a
loop over examples. Like the other transforms (``core/functional.py``) the result is inlined
into an enclosing trace — so ``grad`` of ``vmap``, ``vmap`` of ``grad`` and ``vmap`` of
``vmap`` compose to any depth — compiled and cached per input signature at top level in
``GRAPH_MODE``, and traced anew on each call in ``PYNATIVE_MODE``.

``in_axes``: an int (every tensor argument batched along that axis), None (not batched), or
a tuple with one entry per argument, each again an int, None or a nested tuple matching that
argument's structure. ``out_axes`` likewise for the outputs; an output with ``out_axes`` None
must be the same for every example.

>>> per_example_norm = hograd.vmap(lambda v: ops.sqrt(ops.reduce_sum(v * v)))
>>> per_example_norm(Tensor(np.ones((5, 3))))          # shape (5,), each √3
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from .batching import move_axis, push_batched, to_front
from .deferred import Deferred
from .errors import BatchingError
from .functional import _check_callable, _run
from .grad import _name
from .ir import AbstractValue
from .pytree import TENSOR, flatten, unflatten
from .trace import Trace, carries_derivative

__all__ = ["vmap"]


def leaf_axes(axes: Any, structure: Any, what: str, where: str = "") -> list[Optional[int]]:
    """One axis (or None) per tensor leaf of ``structure``, from ``axes`` given as a prefix of
    it: an int or None covers a whole subtree, a tuple or list matches a tuple or list."""
    if axes is None or (isinstance(axes, int) and not isinstance(axes, bool)):
        return [axes] * _count_tensors(structure)
    if isinstance(axes, (tuple, list)):
        if structure == TENSOR or structure[0] not in ("tuple", "list") \
                or len(structure[1]) != len(axes):
            found = ("a Tensor" if structure == TENSOR else
                     f"a {structure[0]} of {len(structure[1])}" if structure[0] in ("tuple", "list")
                     else "a non-Tensor value")
            raise BatchingError(f"vmap: {what}{where} is a tuple of {len(axes)} entries, but the "
                                f"value it describes is {found}; give one entry per element "
                                f"(or one int or None for all of it)")
        found_axes: list[Optional[int]] = []
        for index, (entry, child) in enumerate(zip(axes, structure[1])):
            found_axes += leaf_axes(entry, child, what, f"{where}[{index}]")
        return found_axes
    raise BatchingError(f"vmap: {what}{where} must be an int, None or a tuple of them, got "
                        f"{type(axes).__name__} {axes!r}")


def _count_tensors(structure: Any) -> int:
    if structure == TENSOR:
        return 1
    if structure[0] == "static":
        return 0
    return sum(_count_tensors(child) for child in structure[-1])


def _normalized(axis: Optional[int], rank: int, what: str) -> Optional[int]:
    if axis is None:
        return None
    if not -rank <= axis < rank:
        raise BatchingError(f"vmap: {what} is {axis}, out of range for a Tensor of rank {rank}")
    return axis % rank


def _example(tensor, axis: Optional[int]) -> tuple[AbstractValue, Any]:
    """The abstract value of one example of ``tensor`` and the data of example 0."""
    if axis is None:
        return tensor._aval, tensor._value
    shape = tensor.shape[:axis] + tensor.shape[axis + 1:]
    # a full index (the Array API has no implicit trailing axes)
    index = (slice(None),) * axis + (0, Ellipsis)
    value = tensor._value
    if type(value) is Deferred:  # a value of an enclosing trace: sliced when something reads it
        data = Deferred(lambda array: array[index], (value,))
    else:
        data = None if value is None else value[index]
    return AbstractValue(tuple(shape), tensor.dtype), data


class _VmapTransform:
    """What ``vmap`` returns: call it with batched arguments."""

    def __init__(self, fn: Callable, in_axes: Any, out_axes: Any) -> None:
        _check_callable(fn, "vmap")
        self.fn = fn
        self.in_axes = tuple(in_axes) if isinstance(in_axes, list) else in_axes
        self.out_axes = tuple(out_axes) if isinstance(out_axes, list) else out_axes

    @property
    def __name__(self) -> str:
        return f"the vmap of {_name(self.fn)}"

    def __call__(self, *args: Any) -> Any:
        return _run("vmap", self.fn, (), (_hashable(self.in_axes), _hashable(self.out_axes)),
                    self._body, args)

    def _body(self, *args: Any) -> Any:
        leaves, structure = flatten(tuple(args))
        in_axes = self.in_axes
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise BatchingError(f"vmap: in_axes has {len(in_axes)} entries but {_name(self.fn)} "
                                f"got {len(args)} arguments; give one per argument")
        axes = [_normalized(axis, t.ndim, f"in_axes for argument leaf {i}")
                for i, (axis, t) in enumerate(zip(leaf_axes(in_axes, structure, "in_axes"),
                                                  leaves))]
        sizes = {t.shape[a] for t, a in zip(leaves, axes) if a is not None}
        if not sizes:
            raise BatchingError(f"vmap: no argument of {_name(self.fn)} is batched (in_axes "
                                f"{self.in_axes!r} over {len(leaves)} Tensor(s)); at least one "
                                f"Tensor argument needs a batch axis")
        if len(sizes) > 1:
            described = ", ".join(f"argument leaf {i}: {t.shape[a]} (axis {a})"
                                  for i, (t, a) in enumerate(zip(leaves, axes)) if a is not None)
            raise BatchingError(f"vmap: the batch axes have different sizes ({described}); "
                                f"every batched argument needs the same number of examples")
        size = sizes.pop()
        with Trace() as trace:
            examples = []
            for tensor, axis in zip(leaves, axes):
                aval, data = _example(tensor, axis)
                examples.append(trace.new_input(aval, data, tensor._device,
                                                differentiated=carries_derivative(tensor)))
            result = self.fn(*unflatten(structure, examples))
            out_leaves, out_structure = flatten(result)
            traced = trace.finish(out_leaves)
        env, dims = push_batched(traced.graph, [*leaves, *traced.captured],
                                 [*axes, *[None] * len(traced.captured)])
        out_axes = leaf_axes(self.out_axes, out_structure, "out_axes")
        outputs = []
        for index, (var, axis) in enumerate(zip(traced.graph.outputs, out_axes)):
            value, dim = env[var], dims[var]
            if axis is None:
                if dim is not None:
                    raise BatchingError(f"vmap: out_axes is None for output leaf {index} of "
                                        f"{_name(self.fn)}, but it differs between batch "
                                        f"elements; give it an axis")
                outputs.append(value)
                continue
            axis = _normalized(axis, value.ndim + (dim is None), f"out_axes for output leaf "
                                                                 f"{index}")
            outputs.append(move_axis(to_front(value, dim, size), 0, axis))
        return unflatten(out_structure, outputs)


def _hashable(axes: Any) -> Any:
    return tuple(_hashable(a) for a in axes) if isinstance(axes, (tuple, list)) else axes


def vmap(fn: Callable, in_axes: Any = 0, out_axes: Any = 0) -> Callable:
    """The batched version of ``fn``, MindSpore 2.x style: ``vmap(fn)(xs)`` stacks
    ``fn(x)`` over the examples ``x`` along axis 0 of ``xs``, computed in one pass.

    ``in_axes``/``out_axes``: an int, None (unbatched), or a tuple matching the arguments
    (outputs), nested like them. Composes with ``grad``, ``jvp``, ``vjp``, ``jacfwd``,
    ``jacrev``, ``GradOperation`` and itself, to any depth.

    >>> per_sample = hograd.vmap(hograd.grad(loss), in_axes=(None, 0, 0))(w, xs, ys)
    """
    return _VmapTransform(fn, in_axes, out_axes)
