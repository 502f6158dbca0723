"""``CellCall``: a Cell with a user ``bprop``, as one node whose derivative is that bprop.

One of the tracer's own ops (with Constant and Guard, ``tracer_ops.py``): core registers it
before any plugin. Its kernel is the same on every device (it runs the Cell's own graph), so it
comes from a factory; the packing below asks the op library for ops by role.

A Cell whose ``construct`` returns several tensors (a tuple, possibly nested) is still one
``CellCall`` node, because its ``bprop`` must be called once with the whole ``dout``: a bprop
need not be linear in ``dout`` (MindSpore's tests add ``x + y`` to it on purpose), so calling
it once per output and summing would give wrong numbers. The node's one output is then the
outputs *packed*: each flattened, cast to a common dtype and concatenated; ``unpack_outputs``
slices them back out with ordinary ops, which are differentiable, so the cotangent reaching the
node holds every output's cotangent (zeros for an output nothing used) at every order.
"""
from __future__ import annotations

from typing import Any

from .. import dtype as dt
from .dispatch import apply
from .errors import GradArgumentError
from .indexing import Span
from .ir import AbstractValue
from .opdef import OpDef, StrictAttrs
from .pytree import TENSOR, unflatten
from .roles import role


class CellCallAttrs(StrictAttrs):
    graph: Any
    cell: Any
    n_args: int
    # the structure of construct's result (``pytree.flatten``); anything but one Tensor means
    # the node's output is the outputs packed
    out_structure: Any = TENSOR


def packed_dtype(avals) -> dt.DType:
    """The dtype several outputs are packed in: theirs if they share one, else one that holds
    each exactly (float64 for floats with anything, int64 for integers and booleans)."""
    dtypes = {aval.dtype for aval in avals}
    if len(dtypes) == 1:
        return dtypes.pop()
    return dt.float64 if any(d.is_float for d in dtypes) else dt.int64


def _packed_aval(graph) -> AbstractValue:
    avals = [v.aval for v in graph.outputs]
    return AbstractValue((sum(a.size for a in avals),), packed_dtype(avals))


def unpack_outputs(packed, avals) -> list:
    """The tensors packed in ``packed`` (of the given abstract values), cut out with ops."""
    pieces, offset = [], 0
    for aval in avals:
        piece = apply(role("get_item"), (packed,), {"index": (Span(offset, offset + aval.size, 1),)})
        piece = apply(role("reshape"), (piece,), {"shape": aval.shape})
        if aval.dtype is not packed.dtype:
            piece = apply(role("cast"), (piece,), {"dtype": aval.dtype})
        pieces.append(piece)
        offset += aval.size
    return pieces


def _cell_call_infer(*avals, graph, cell, n_args, out_structure):
    return graph.outputs[0].aval if out_structure == TENSOR else _packed_aval(graph)


def _cell_call_kernel(device):
    from .executor import compile_graph
    from .registry import registry

    def cell_call(*arrays, graph, cell, n_args, out_structure):
        outputs = compile_graph(graph, device)(arrays)
        if out_structure == TENSOR:
            return outputs[0]
        # packing with the device's own kernels keeps this op device-independent
        reg = registry()
        dtype = _packed_aval(graph).dtype
        flat = [reg.kernel(role("reshape").name, device.name)(array, shape=(-1,)) for array in outputs]
        flat = [reg.kernel(role("cast").name, device.name)(array, dtype=dtype)
                if var.aval.dtype is not dtype else array
                for array, var in zip(flat, graph.outputs)]
        return reg.kernel(role("concat").name, device.name)(*flat, axis=0)
    return cell_call


def _cell_bprop(cotangent, out, *inputs, graph, cell, n_args, out_structure):
    """The derivative of a Cell with ``bprop``: the user's rule, traced into hograd ops.

    ``out`` and ``dout`` have construct's structure. A bprop may return more values than
    construct has inputs; MindSpore uses the first ones, and so does this.
    """
    from .tensor import Tensor
    if out_structure != TENSOR:
        avals = [v.aval for v in graph.outputs]
        out = unflatten(out_structure, unpack_outputs(out, avals))
        cotangent = unflatten(out_structure, unpack_outputs(cotangent, avals))
    grads = cell.bprop(*inputs[:n_args], out, cotangent)
    if isinstance(grads, Tensor):
        grads = (grads,)
    if not isinstance(grads, (tuple, list)) or len(grads) < n_args:
        raise GradArgumentError(
            f"{type(cell).__name__}.bprop must return a tuple with one gradient per input of "
            f"construct ({n_args}), got {type(grads).__name__}"
            f"{'' if not isinstance(grads, (tuple, list)) else ' of ' + str(len(grads))}")
    grads = tuple(_checked_gradient(cell, index, g, inputs[index])
                  for index, g in enumerate(grads[:n_args]))
    return grads + (None,) * (len(inputs) - n_args)


def _cell_forward(tangents, out, *inputs, graph, cell, n_args, out_structure):
    """Forward mode through a Cell with a ``bprop``: the derivative of its ``construct``.

    A ``bprop`` gives ``Jᵀ·dout``, which cannot be turned into ``J·t`` without transposing it,
    and a bprop need not even be linear in ``dout``; so forward mode differentiates the Cell's
    traced ``construct`` graph (the node's ``graph``) instead — the true derivative of what it
    computes. Reverse mode, and anything differentiated in reverse first, uses the bprop.
    """
    from .forward import push_tangents, zeros
    active = {var: tangent for var, tangent in zip(graph.inputs, tangents)
              if tangent is not None and var.aval.dtype.is_float}
    push_tangents(graph, inputs, active, inputs[0]._device if inputs else None)
    pieces = [active.get(var) if active.get(var) is not None else zeros(var.aval)
              for var in graph.outputs]
    if out_structure == TENSOR:
        return pieces[0]
    dtype = _packed_aval(graph).dtype
    flat = [apply(role("reshape"), (piece,), {"shape": (-1,)}) for piece in pieces]
    flat = [apply(role("cast"), (piece,), {"dtype": dtype}) if piece.dtype is not dtype else piece
            for piece in flat]
    return apply(role("concat"), flat, {"axis": 0})


def _checked_gradient(cell, index: int, grad, primal):
    """A bprop's gradient for input ``index``, as a Tensor of the input's shape (a 0-d value
    fills it); a clear error naming the bprop, the input and both shapes otherwise."""
    from .tensor import Tensor
    if grad is None:
        return None
    if not isinstance(grad, Tensor):
        grad = Tensor(grad)
    if grad.shape != primal.shape and grad.ndim != 0:
        raise GradArgumentError(
            f"{type(cell).__name__}.bprop returned a gradient of shape {grad.shape} for input "
            f"{_input_name(cell, index)} of shape {primal.shape}; a gradient must have its "
            f"input's shape (or be a scalar that fills it)")
    return grad


def _input_name(cell, index: int) -> str:
    """``'y' (argument 1)``: the bprop's own name for construct's input ``index``."""
    import inspect
    try:
        names = list(inspect.signature(cell.bprop).parameters)
    except (TypeError, ValueError):
        names = []
    return f"{names[index]!r} (argument {index})" if index < len(names) - 2 else f"{index}"


CELL_CALL = (
    OpDef(name="CellCall", inputs=("args",), variadic=True, attributes=CellCallAttrs,
          infer=_cell_call_infer,
          backward_all=_cell_bprop, forward=_cell_forward, kernel_factory=_cell_call_kernel,
          internal=True,
          doc="a Cell with a user bprop, as one node whose derivative is that bprop"),
)
