"""Nested arguments and results as a flat list of tensors plus a hashable structure.

Tuples, lists and dicts nest; tensors are the leaves that become graph inputs or outputs; any
other value (a Python number, a string, None) is static: part of the structure, so a different
value means a different signature and a new trace.
"""
from __future__ import annotations

from typing import Any

from .errors import TracingError

TENSOR = "T"


def flatten(tree: Any) -> tuple[list[Any], Any]:
    """``(leaves, structure)`` of a nested value; the structure is hashable."""
    leaves: list[Any] = []
    return leaves, _walk(tree, leaves, tensor_type())


def _walk(node: Any, leaves: list[Any], tensor: type) -> Any:
    if isinstance(node, tensor):
        leaves.append(node)
        return TENSOR
    if isinstance(node, (tuple, list)):
        return (type(node).__name__, tuple([_walk(child, leaves, tensor) for child in node]))
    if isinstance(node, dict):
        keys = tuple(sorted(node))
        return ("dict", keys, tuple([_walk(node[k], leaves, tensor) for k in keys]))
    if isinstance(node, float):
        # by bits, not by ==: 0.0 and -0.0 give different results (1 / c), and a NaN must
        # meet its own entry again
        return ("static", "float", type(node), node.hex())
    try:
        hash(node)
    except TypeError:
        raise TracingError(
            f"a {type(node).__name__} cannot be an argument or result of a traced function; "
            f"pass Tensors, numbers, strings, or tuples/lists/dicts of them") from None
    return ("static", type(node).__name__, node)


def tensors_only_structure(count: int) -> Any:
    """``flatten``'s structure of ``((t₁, …, t_count), {})``: a call with tensors only."""
    return ("tuple", (("tuple", (TENSOR,) * count), ("dict", (), ())))


_tensor: list[type] = []


def tensor_type() -> type:
    # imported on first use: tensor.py imports this module
    if not _tensor:
        from .tensor import Tensor
        _tensor.append(Tensor)
    return _tensor[0]


def unflatten(structure: Any, leaves: list[Any]) -> Any:
    """The nested value ``flatten`` took apart, with ``leaves`` in the tensors' places."""
    position = iter(leaves)

    def build(node):
        if node == TENSOR:
            return next(position)
        kind = node[0]
        if kind == "static":
            return node[2](float.fromhex(node[3])) if node[1] == "float" else node[2]
        if kind == "dict":
            return {k: build(child) for k, child in zip(node[1], node[2])}
        children = [build(child) for child in node[1]]
        return tuple(children) if kind == "tuple" else children

    return build(structure)


def signature(leaves: list[Any]) -> tuple:
    """What a compiled graph depends on about its tensor inputs: shape, dtype, device (as
    values hashed in C: a cache key is hashed on every call)."""
    return tuple((t._aval.shape, t._aval.dtype, t._device.name) for t in leaves)
