"""Checkpoints, MindSpore's names: ``save_checkpoint``, ``load_checkpoint``,
``load_param_into_net``.

A checkpoint is a numpy ``.npz`` archive: one array per Parameter under its name, plus a small
manifest of the parameters' ``requires_grad`` flags. Loading never unpickles anything
(``allow_pickle=False``), so a checkpoint from elsewhere cannot run code; safetensors would do
as well but is one more dependency for the same guarantee.

>>> hograd.save_checkpoint(net, "net.ckpt")
>>> params = hograd.load_checkpoint("net.ckpt")        # {name: Parameter}
>>> not_loaded, unused = hograd.load_param_into_net(net, params)
"""
from __future__ import annotations

import json
import os
import warnings
from typing import Any

import numpy as np

from .core.tensor import Parameter, Tensor

_MANIFEST = "__hograd_manifest__"


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or that does not fit the network it is loaded into."""


def _named_values(save_obj: Any) -> list[tuple[str, Tensor, bool]]:
    from .nn.cell import Cell
    if isinstance(save_obj, Cell):
        return [(name, param, param.requires_grad)
                for name, param in save_obj.parameters_and_names()]
    if isinstance(save_obj, dict):
        save_obj = [{"name": k, "data": v} for k, v in save_obj.items()]
    if isinstance(save_obj, (list, tuple)):
        entries = []
        for index, item in enumerate(save_obj):
            if isinstance(item, Parameter):
                entries.append((item.name, item, item.requires_grad))
            elif isinstance(item, dict) and {"name", "data"} <= set(item):
                data = item["data"]
                entries.append((str(item["name"]), data if isinstance(data, Tensor)
                                else Tensor(np.asarray(data)),
                                getattr(data, "requires_grad", True)))
            else:
                raise TypeError(f"save_checkpoint: item {index} of the list must be a Parameter "
                                f"or a dict with 'name' and 'data', got {type(item).__name__}")
        return entries
    raise TypeError(f"save_checkpoint: save_obj must be a Cell, a list of Parameters or of "
                    f"{{'name': ..., 'data': ...}} dicts, or a dict of name → Tensor; got "
                    f"{type(save_obj).__name__}")


def save_checkpoint(save_obj: Any, ckpt_file_name: str | os.PathLike) -> None:
    """Write the Parameters of a Cell (or a list of them / of ``{"name", "data"}`` dicts) to
    ``ckpt_file_name`` (the name is used as given; MindSpore's ``.ckpt`` is a fine suffix)."""
    entries = _named_values(save_obj)
    arrays: dict[str, np.ndarray] = {}
    for name, tensor, _ in entries:
        if not name:
            raise CheckpointError("save_checkpoint: a Parameter has no name; name it "
                                  "(Parameter(..., name='w')) or save it through its Cell")
        if name in arrays or name == _MANIFEST:
            raise CheckpointError(f"save_checkpoint: two Parameters are named {name!r}; "
                                  f"checkpoint names must be distinct")
        arrays[name] = tensor.asnumpy()
    manifest = {"format": "hograd-checkpoint", "version": 1,
                "requires_grad": {name: bool(flag) for name, _, flag in entries}}
    arrays[_MANIFEST] = np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8)
    path = os.fspath(ckpt_file_name)
    with open(path, "wb") as handle:  # a file object: numpy must not append ".npz"
        np.savez(handle, **arrays)


def load_checkpoint(ckpt_file_name: str | os.PathLike, net: Any = None,
                    strict_load: bool = False, filter_prefix: Any = None,
                    choice_func: Any = None) -> dict[str, Parameter]:
    """The checkpoint's Parameters, ``{name: Parameter}`` in saved order; with ``net``, also
    loaded into it (as ``load_param_into_net``).

    As in MindSpore, ``filter_prefix`` (a string or a sequence of them) leaves out the
    parameters whose names start with it, and ``choice_func(name) -> bool`` keeps only those it
    accepts."""
    path = os.fspath(ckpt_file_name)
    if not os.path.isfile(path):
        raise CheckpointError(f"load_checkpoint: no checkpoint file at {path!r}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except Exception as err:
        raise CheckpointError(f"load_checkpoint: {path!r} is not a hograd checkpoint (an .npz "
                              f"archive written by save_checkpoint): {type(err).__name__}: "
                              f"{err}") from None
    manifest_bytes = arrays.pop(_MANIFEST, None)
    if manifest_bytes is None:
        raise CheckpointError(f"load_checkpoint: {path!r} is an .npz archive but not a hograd "
                              f"checkpoint (it has no manifest); write checkpoints with "
                              f"save_checkpoint")
    flags = json.loads(manifest_bytes.tobytes().decode()).get("requires_grad", {})
    prefixes = (filter_prefix,) if isinstance(filter_prefix, str) else tuple(filter_prefix or ())
    arrays = {name: array for name, array in arrays.items()
              if not name.startswith(prefixes) and (choice_func is None or choice_func(name))}
    params = {name: Parameter(Tensor(array), name=name, requires_grad=flags.get(name, True))
              for name, array in arrays.items()}
    if net is not None:
        load_param_into_net(net, params, strict_load=strict_load)
    return params


def load_param_into_net(net: Any, parameter_dict: dict[str, Any],
                        strict_load: bool = False) -> tuple[list[str], list[str]]:
    """Copy the values of ``parameter_dict`` into ``net``'s Parameters of the same names.

    Returns ``(param_not_load, ckpt_not_load)``: the net's Parameters the dict has no value for,
    and the dict's names the net has no Parameter for (as MindSpore 2.x). A value whose shape
    differs from its Parameter's is an error; so is any name missing from the dict when
    ``strict_load`` is true, and a missing name is warned about otherwise.
    """
    from .nn.cell import Cell
    if not isinstance(net, Cell):
        raise TypeError(f"load_param_into_net: net must be a Cell, got {type(net).__name__}")
    if not isinstance(parameter_dict, dict):
        raise TypeError(f"load_param_into_net: parameter_dict must be a dict of name → "
                        f"Parameter (what load_checkpoint returns), got "
                        f"{type(parameter_dict).__name__}")
    not_loaded: list[str] = []
    used: set[str] = set()
    for name, param in net.parameters_and_names():
        value = parameter_dict.get(name)
        if value is None:
            not_loaded.append(name)
            continue
        used.add(name)
        array = value.asnumpy() if isinstance(value, Tensor) else np.asarray(value)
        if tuple(array.shape) != param.shape:
            raise CheckpointError(f"load_param_into_net: Parameter {name!r} has shape "
                                  f"{param.shape} in the network but {tuple(array.shape)} in "
                                  f"the checkpoint; the checkpoint is from a different network "
                                  f"(or layer sizes)")
        param.set_data(array.astype(param.dtype.numpy, copy=False))
    unused = [name for name in parameter_dict if name not in used]
    if not_loaded:
        message = (f"load_param_into_net: the checkpoint has no value for {len(not_loaded)} "
                   f"Parameter(s) of the network: {', '.join(not_loaded)}" +
                   (f"; it has names the network lacks: {', '.join(unused)}" if unused else "") +
                   ". Check that it was saved from the same network (names are attribute "
                   "paths such as 'dense.weight').")
        if strict_load:
            raise CheckpointError(message)
        warnings.warn(message, RuntimeWarning, stacklevel=2)
    return not_loaded, unused
