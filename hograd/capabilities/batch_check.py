"""Checking an op's batching rule (``vmap``) against a loop of unbatched calls, per device.

Each of the op's samples gets a batch of examples per input (drawn like the sample's inputs),
and ``vmap`` of the op is compared with the examples' outputs computed one call at a time and
stacked, in float64, with the batch axes in several places: every input batched at the front,
each input batched alone (the others shared by every example), and every input batched along
its last axis — so the rule's moving of batch axes and its unbatched-operand paths are both
exercised. An op without a rule is checked the same way through the fallback loop and reported
as such.
"""
from __future__ import annotations

import warnings
from typing import Optional

import numpy as np
from pydantic import BaseModel

from .. import context
from ..core.batching import BatchingFallbackWarning
from ..core.opdef import OpDef
from ..core.registry import Registry
from ..core.tensor import Tensor
from .checker import _caller, _quietly, kernel_devices
from ..core.checkspec import OpSpec

BATCH_SIZE = 3
BATCH_STATUSES = ("batched", "loop", "wrong", "error", "no inputs", "no kernel",
                  "device absent", "unchecked")


class BatchResult(BaseModel):
    """One op's batching on one device: ``batched`` (its rule agrees with the loop),
    ``loop`` (no rule: the fallback loop agrees, with a warning), ``wrong`` (the figures),
    ``error`` (the check crashed), ``no inputs`` (nothing to batch: creation ops), or
    ``no kernel`` / ``device absent`` / ``unchecked`` (no spec)."""

    status: str
    detail: str = ""


def check_batching(registry: Registry, op: OpDef, device_name: str, seed: int = 0
                   ) -> BatchResult:
    """Verify ``op``'s batching rule on ``device_name`` against a loop; never raises."""
    device = registry.devices[device_name]
    if not device.present:
        return BatchResult(status="device absent", detail=device.absent_reason or "")
    having = kernel_devices(registry, op)
    if having is not None and device_name not in having:
        return BatchResult(status="no kernel")
    spec: Optional[OpSpec] = registry.specs.get(op.name)
    if spec is None:
        return BatchResult(status="unchecked", detail="no check spec registered for this op")
    if not op.inputs:
        return BatchResult(status="no inputs", detail="the op takes no tensors to batch")
    mode = context.get_context("mode")
    try:
        # op by op: the check is about the rules, and compiling every pattern would cost more
        context.set_context(mode=context.PYNATIVE_MODE)
        with _quietly(), context.device_scope(device_name), \
                warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", BatchingFallbackWarning)
            problem = _check(op, spec, seed)
        if problem:
            return BatchResult(status="wrong", detail=problem)
        looped = sorted({str(w.message).split(" ")[2] for w in caught
                         if issubclass(w.category, BatchingFallbackWarning)})
        if looped:
            return BatchResult(status="loop", detail=f"no batching rule: {', '.join(looped)} "
                                                     f"loops over examples")
        return BatchResult(status="batched")
    except Exception as err:  # a crashing check is a finding, not a reason to stop the matrix
        return BatchResult(status="error", detail=f"{type(err).__name__}: {err}")
    finally:
        context.set_context(mode=mode)


def _patterns(ranks: list[int]) -> list[tuple[Optional[int], ...]]:
    """Where each input's batch axis goes: all in front, each alone, all at the back."""
    patterns = [tuple(0 for _ in ranks)]
    if len(ranks) > 1:
        patterns += [tuple(0 if i == k else None for i in range(len(ranks)))
                     for k in range(len(ranks))]
    if any(ranks):
        patterns.append(tuple(ranks))
    return patterns


def _check(op: OpDef, spec: OpSpec, seed: int) -> str:
    """The first disagreement between vmap and the loop, or ''."""
    from ..core.vmap import vmap
    rng = np.random.default_rng(seed)
    for index, sample in enumerate(spec.samples):
        examples = [[item.make(op.domain, rng) for item in sample.inputs]
                    for _ in range(BATCH_SIZE)]
        call = _caller(op, sample)
        for axes in _patterns([np.ndim(a) for a in examples[0]]):
            batched = [Tensor(np.stack([e[i] for e in examples], axis=axis))
                       if axis is not None else Tensor(examples[0][i])
                       for i, axis in enumerate(axes)]
            got = _leaves(vmap(call, in_axes=axes)(*batched))
            per_example = [_leaves(call(*[Tensor(e[i] if axis is not None else examples[0][i])
                                          for i, axis in enumerate(axes)]))
                           for e in examples]
            for leaf, value in enumerate(got):
                expected = np.stack([outputs[leaf] for outputs in per_example])
                if value.shape != expected.shape or not np.allclose(
                        value, expected, rtol=1e-9, atol=1e-12, equal_nan=True):
                    difference = (float(np.max(np.abs(value - expected)))
                                  if value.shape == expected.shape
                                  else f"shape {value.shape} vs {expected.shape}")
                    return (f"sample {index}, in_axes {axes}, output {leaf}: vmap differs from "
                            f"the loop of unbatched calls ({difference})")
    return ""


def _leaves(result) -> list[np.ndarray]:
    values = result if isinstance(result, (tuple, list)) else (result,)
    return [np.asarray(v.asnumpy()) for v in values]
