"""The graph IR: readable printing, validation, and the passes that keep derived graphs small."""
import numpy as np
import pytest

from hograd import Tensor, ops
from hograd.core.errors import GraphValidationError
from hograd.core.ir import AbstractValue, Graph, Node, Var
from hograd.core.passes import (algebraic_simplification, common_subexpression_elimination,
                                dead_code_elimination)
from hograd.core.registry import registry
from hograd import dtype as mstype

Grad = ops.GradOperation
F32 = AbstractValue((2,), mstype.float32)


def nth(fn, order):
    for _ in range(order):
        fn = Grad()(fn)
    return fn


def test_a_derived_graph_prints_one_node_a_line():
    text = str(nth(ops.sin, 2).graph(Tensor([1.0])))
    assert text == ("graph(%0: f32[1]) {\n"
                    "  %1: f32[1] = Sin(%0)\n"
                    "  %2: f32[1] = Neg(%1)\n"
                    "  return (%2)\n"
                    "}")


def test_second_derivative_of_sin_has_two_nodes_after_passes():
    graph = nth(ops.sin, 2).graph(Tensor([1.0]))
    assert [node.op for node in graph.nodes] == ["Sin", "Neg"]


@pytest.mark.parametrize("order, expected_ops", [(1, ["Cos"]), (2, ["Sin", "Neg"]),
                                                 (3, ["Cos", "Neg"]), (4, ["Sin"]),
                                                 (8, ["Sin"])])
def test_derivatives_of_sin_do_not_swell(order, expected_ops):
    graph = nth(ops.sin, order).graph(Tensor([0.5]))
    assert sorted(n.op for n in graph.nodes) == sorted(expected_ops)
    value = nth(ops.sin, order)(Tensor(np.array([0.5])))
    np.testing.assert_allclose(value.asnumpy(), [[np.sin, np.cos, lambda x: -np.sin(x),
                                                  lambda x: -np.cos(x)][order % 4](0.5)])


def test_derived_graphs_validate_against_the_shape_rules():
    graph = nth(lambda x: ops.MatMul()(x, x) * ops.tanh(x), 3).graph(
        Tensor(np.ones((3, 3))))
    reg = registry()
    graph.validate(lambda n: reg.op(n.op).infer(*(v.aval for v in n.inputs), **n.attr_dict))


def test_validation_catches_use_before_definition():
    x, y = Var(F32), Var(F32)
    bad = Graph((x,), (Node("Sin", (y,), (), Var(F32)),), ())
    with pytest.raises(GraphValidationError, match="before it is defined"):
        bad.validate()


def test_validation_catches_a_wrong_abstract_value():
    x = Var(F32)
    out = Var(AbstractValue((3,), mstype.float32))
    graph = Graph((x,), (Node("Sin", (x,), (), out),), (out,))
    reg = registry()
    with pytest.raises(GraphValidationError, match="records f32\\[3\\] but its op gives f32\\[2\\]"):
        graph.validate(lambda n: reg.op(n.op).infer(*(v.aval for v in n.inputs), **n.attr_dict))


def test_dead_code_elimination_keeps_only_what_outputs_need():
    x = Var(F32)
    used, unused = Var(F32), Var(F32)
    graph = Graph((x,), (Node("Sin", (x,), (), unused), Node("Cos", (x,), (), used)), (used,))
    assert [n.op for n in dead_code_elimination(graph).nodes] == ["Cos"]


def test_common_subexpressions_are_merged():
    x = Var(F32)
    a, b, c = Var(F32), Var(F32), Var(F32)
    graph = Graph((x,), (Node("Sin", (x,), (), a), Node("Sin", (x,), (), b),
                         Node("Mul", (a, b), (), c)), (c,))
    merged = common_subexpression_elimination(graph)
    assert [n.op for n in merged.nodes] == ["Sin", "Mul"]
    assert merged.nodes[1].inputs == (a, a)


def test_multiplying_by_a_filled_one_is_removed():
    x = Var(F32)
    one, out = Var(F32), Var(F32)
    graph = Graph((x,), (Node("Fill", (), (("dtype", mstype.float32), ("shape", (2,)),
                                           ("value", 1.0)), one),
                         Node("Mul", (one, x), (), out)), (out,))
    simplified = dead_code_elimination(algebraic_simplification(graph))
    assert simplified.nodes == () and simplified.outputs == (x,)


def test_simplification_never_changes_a_shape():
    # 1 (shape (2,)) * x (shape ()) broadcasts: x alone would have the wrong shape
    x = Var(AbstractValue((), mstype.float32))
    one, out = Var(F32), Var(F32)
    graph = Graph((x,), (Node("Fill", (), (("dtype", mstype.float32), ("shape", (2,)),
                                           ("value", 1.0)), one),
                         Node("Mul", (one, x), (), out)), (out,))
    assert [n.op for n in algebraic_simplification(graph).nodes] == ["Fill", "Mul"]


def test_guards_survive_dead_code_elimination():
    def branchy(x):
        return x * x if x > 0.0 else -x

    graph = Grad()(branchy).graph(Tensor([2.0]))
    assert graph.count("Guard") == 1


def _fill(value, shape=(2,)):
    var = Var(AbstractValue(shape, mstype.float32))
    return var, Node("Fill", (), (("dtype", mstype.float32), ("shape", shape),
                                  ("value", value)), var)


@pytest.mark.parametrize("build, expected_ops", [
    # --x → x
    (lambda x: [("Neg", (x,)), ("Neg", ("prev",))], []),
    # 0·x → 0 (a Fill of the product's shape)
    (lambda x: [("fill", 0.0), ("Mul", ("prev", x))], ["Fill"]),
    # x - 0 → x
    (lambda x: [("fill", 0.0), ("Sub", (x, "prev"))], []),
    # a filled value broadcast and summed is one Fill
    (lambda x: [("fill", 2.0), ("ReduceSum", ("prev",))], ["Fill"]),
])
def test_simplification_rules(build, expected_ops):
    x = Var(F32)
    nodes, previous = [], None
    for op, *rest in build(x):
        if op == "fill":
            previous, node = _fill(rest[0])
        else:
            inputs = tuple(previous if v == "prev" else v for v in rest[0])
            out_aval = F32 if op != "ReduceSum" else AbstractValue((), mstype.float32)
            attrs = (("axis", None), ("keep_dims", False)) if op == "ReduceSum" else ()
            previous = Var(out_aval)
            node = Node(op, inputs, attrs, previous)
        nodes.append(node)
    graph = dead_code_elimination(algebraic_simplification(Graph((x,), tuple(nodes),
                                                                 (previous,))))
    assert [n.op for n in graph.nodes] == expected_ops
    if expected_ops == ["Fill"] and graph.outputs[0].aval.shape == ():
        assert graph.nodes[0].attr_dict["value"] == 4.0   # 2 + 2


def test_compiled_runs_release_each_intermediate_after_its_last_reader():
    from hograd.core.executor import Executable
    from hograd.core.staging import stage

    second = nth(lambda t: ops.sin(t) * ops.cos(t) * t, 2)
    graph = stage(second, [Tensor(np.ones(3))]).graph
    executable = Executable(graph, registry().device("cpu"))
    n_inputs, outputs = len(graph.inputs), set(executable._outputs)
    read = {i for _, inputs, _, _, _ in executable._steps for i in inputs}
    released = [i for step in executable._steps for i in step[4]]
    assert sorted(released) == sorted(i for i in read if i >= n_inputs and i not in outputs)
    result = executable([np.full(3, 0.5)])[0]
    np.testing.assert_allclose(result, second(Tensor(np.full(3, 0.5))).asnumpy())


def test_cse_merges_both_orders_of_a_commutative_op():
    from hograd.core.staging import stage
    graph = stage(lambda a, b: a * b + b * a, [Tensor(np.ones(3)), Tensor(np.ones(3))]).graph
    assert [n.op for n in graph.nodes].count("Mul") == 1
    graph = stage(lambda a, b: ops.sin(a + b) * ops.sin(b + a),
                  [Tensor(np.ones(3)), Tensor(np.ones(3))]).graph
    assert [n.op for n in graph.nodes].count("Add") == 1
    # not for an op whose order matters
    graph = stage(lambda a, b: ops.sin(a - b) * ops.sin(b - a),
                  [Tensor(np.ones(3)), Tensor(np.ones(3))]).graph
    assert [n.op for n in graph.nodes].count("Sub") == 2


def test_the_structure_of_a_call_with_tensors_only_is_flattens():
    from hograd.core.pytree import flatten, tensors_only_structure
    t = Tensor(np.ones(2))
    for count in range(4):
        assert tensors_only_structure(count) == flatten(((t,) * count, {}))[1]
