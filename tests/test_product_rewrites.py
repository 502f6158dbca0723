"""The rewrites that keep Jacobians and per-sample gradients as cheap as writing them by hand:
constants moved ahead of time, a product with an identity removed, an outer product computed
as a broadcast multiplication — each exact, and each still differentiable to any order."""
import numpy as np
import pytest
import torch
from torch import func as tf

import hograd
from hograd import Tensor, ops
from hograd.core.staging import stage

RNG = np.random.default_rng(11)


def graph_ops(fn, *arrays) -> list[str]:
    return [node.op for node in stage(fn, [Tensor(a) for a in arrays]).graph.nodes]


def run(fn, *arrays) -> np.ndarray:
    return fn(*[Tensor(a) for a in arrays]).asnumpy()


# ---- the simplifier ---------------------------------------------------------------------------
def test_the_simplifier_refuses_a_replacement_of_another_shape(scratch_registry):
    """A planted rule that rewrites Sin(x) to a reshaped x: not taken, whatever it says."""
    from hograd.core.ir import AbstractValue, Graph, Node, Var
    from hograd.core.passes import algebraic_simplification
    from hograd import dtype as mstype

    def flattened(m, node):
        return ("Reshape", (node.inputs[0],), (("shape", (6,)),))

    sin = scratch_registry.ops["Sin"]
    scratch_registry.ops["Sin"] = sin.model_copy(update={"rewrites": (flattened,)})
    x, out = Var(AbstractValue((2, 3), mstype.float64)), Var(AbstractValue((2, 3), mstype.float64))
    graph = algebraic_simplification(Graph((x,), (Node("Sin", (x,), (), out),), (out,)))
    assert [(n.op, n.out.aval.shape) for n in graph.nodes] == [("Sin", (2, 3))]
