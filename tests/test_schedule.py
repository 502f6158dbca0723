"""The executor's node order (core/schedule.py) and the row-scaling reassociation pass."""
import numpy as np

import hograd
from hograd import Parameter, Tensor, nn, ops
from hograd import dtype as mstype
from hograd.core.executor import Executable
from hograd.core.ir import AbstractValue, Graph, Node, Var
from hograd.core.passes import algebraic_simplification, dead_code_elimination
from hograd.core.registry import registry
from hograd.core.schedule import peak_bytes, schedule
from hograd.core.staging import stage

F64 = mstype.float64
BATCH = 256 * 64 * 8  # bytes of one (256, 64) float64 array


class MLP(nn.Cell):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.w1 = Parameter(Tensor(rng.standard_normal((4, 64)) * 0.5), name="w1")
        self.w2 = Parameter(Tensor(rng.standard_normal((64, 64)) * 0.2), name="w2")
        self.w3 = Parameter(Tensor(rng.standard_normal((64, 1)) * 0.2), name="w3")

    def construct(self, x):
        return ops.matmul(ops.tanh(ops.matmul(ops.tanh(ops.matmul(x, self.w1)), self.w2)),
                          self.w3)


def laplacian_graph():
    net = MLP()
    return stage(lambda x: hograd.laplacian(net)(x),
                 [Tensor(np.random.default_rng(1).uniform(-1, 1, (256, 4)))]).graph


def test_a_laplacian_runs_holding_its_directions_one_at_a_time():
    # recorded: the four second-layer directions wait together; depth first: each is squared
    # and summed as it comes
    graph = laplacian_graph()
    assert peak_bytes(graph) >= 9 * BATCH
    assert peak_bytes(schedule(graph)) <= 6 * BATCH + 4096


def test_a_schedule_is_a_valid_order_of_the_same_nodes():
    graph = laplacian_graph()
    ordered = schedule(graph)
    assert sorted(n.out.id for n in ordered.nodes) == sorted(n.out.id for n in graph.nodes)
    defined = set(graph.inputs)
    for node in ordered.nodes:
        assert all(var in defined for var in node.inputs)
        defined.add(node.out)


def test_the_recorded_order_is_kept_when_it_holds_less():
    # b = exp(x) is recorded last, just before the sum reads it; depth first would compute it
    # first and hold it through the whole chain a
    x = Var(AbstractValue((1000,), F64))
    chain, nodes = x, []
    for _ in range(4):
        out = Var(AbstractValue((1000,), F64))
        nodes.append(Node("Sin", (chain,), (), out))
        chain = out
    b = Var(AbstractValue((1000,), F64))
    total = Var(AbstractValue((1000,), F64))
    nodes += [Node("Exp", (x,), (), b), Node("Add", (b, chain), (), total)]
    graph = Graph((x,), tuple(nodes), (total,))
    assert schedule(graph) is graph


def test_effects_keep_their_order(capsys):
    def printing(x):
        ops.Print()("first", x * 2.0)
        y = ops.sin(x)
        ops.Print()("second", y)
        return y * 3.0

    graph = stage(printing, [Tensor(np.ones(2))]).graph
    executable = Executable(graph, registry().device("cpu"))
    executable([np.ones(2)])
    out = capsys.readouterr().out
    assert out.index("first") < out.index("second")


def test_a_row_scaling_moves_onto_the_weights():
    a, row, w = (Var(AbstractValue(s, F64)) for s in ((256, 64), (1, 64), (64, 8)))
    scaled, product = Var(AbstractValue((256, 64), F64)), Var(AbstractValue((256, 8), F64))
    flags = (("transpose_a", False), ("transpose_b", False))
    graph = Graph((a, row, w), (Node("Mul", (a, row), (), scaled),
                                Node("MatMul", (scaled, w), flags, product)), (product,))
    rewritten = dead_code_elimination(algebraic_simplification(graph))
    assert [n.op for n in rewritten.nodes] == ["Reshape", "Mul", "MatMul"]
    assert rewritten.nodes[1].out.aval.shape == (64, 8)   # the scales meet W, not A
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(v.aval.shape) for v in (a, row, w)]
    result = Executable(rewritten, registry().device("cpu"))(arrays)[0]
    np.testing.assert_allclose(result, (arrays[0] * arrays[1]) @ arrays[2], rtol=1e-12)


def test_a_row_scaling_stays_when_the_weights_are_the_larger_factor():
    a, row, w = (Var(AbstractValue(s, F64)) for s in ((4, 64), (1, 64), (64, 64)))
    scaled, product = Var(AbstractValue((4, 64), F64)), Var(AbstractValue((4, 64), F64))
    flags = (("transpose_a", False), ("transpose_b", False))
    graph = Graph((a, row, w), (Node("Mul", (a, row), (), scaled),
                                Node("MatMul", (scaled, w), flags, product)), (product,))
    assert [n.op for n in algebraic_simplification(graph).nodes] == ["Mul", "MatMul"]
