"""vmap: every batching rule against torch.func.vmap in float64 and against loops of unbatched
calls; in_axes/out_axes; composition with the other transforms; guards; the fallback loop."""
import warnings

import numpy as np
import pytest
import torch
from torch import func as tf

import hograd
from hograd import Tensor, ops
from hograd.core.batching import BatchingFallbackWarning
from hograd.core.errors import BatchingError


@pytest.fixture(autouse=True)
def torch_in_float64():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


@pytest.fixture(autouse=True)
def no_fallback_loops():
    """A rule that falls back to the loop is a failure unless a test expects it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingFallbackWarning)
        yield


def close(got, want, tol=1e-10):
    got = got.asnumpy() if isinstance(got, Tensor) else np.asarray(got)
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


RNG = np.random.default_rng(7)


def data(*shape, low=-1.0, high=1.0):
    return RNG.uniform(low, high, size=shape)


def both(*arrays):
    """The same arrays as hograd and torch tensors."""
    return [Tensor(a) for a in arrays], [torch.tensor(a) for a in arrays]


# (name, hograd fn, torch fn, arrays, in_axes): one case per batching rule, with batch axes in
# front, behind and absent, and operands of different ranks
I64 = np.array([[2, 0, 1], [1, 1, 0], [0, 2, 2], [2, 2, 1]])
CASES = [
    # vectorized (elementwise of one input); batch axis 1 stays where it is
    ("sin", ops.sin, torch.sin, [data(3, 4)], 1),
    ("tanh-exp", lambda x: ops.tanh(ops.exp(x)), lambda x: torch.tanh(torch.exp(x)),
     [data(4, 2, 3)], 0),
    ("elu", lambda x: ops.elu(x, alpha=0.5), lambda x: torch.nn.functional.elu(x, alpha=0.5),
     [data(4, 3)], 0),
    ("cast", lambda x: ops.cast(x, hograd.float32), lambda x: x.float(), [data(4, 3)], 0),
    # broadcasting: per-example scalar times a vector, batch at the back, one unbatched input
    ("mul-ranks", lambda x, y: x * y, lambda x, y: x * y, [data(3, 4), data(4)], (1, 0)),
    ("add-unbatched", lambda x, y: x + y, lambda x, y: x + y, [data(4, 2, 3), data(3)],
     (0, None)),
    ("pow", lambda x, y: x ** y, lambda x, y: x ** y, [data(4, 3, low=0.5, high=2.0),
                                                     data(4, 1)], (0, 0)),
    ("select-compare", lambda x, y: ops.select(x > y, x, y * 2.0),
     lambda x, y: torch.where(x > y, x, y * 2.0), [data(4, 3), data(3, 4)], (0, 1)),
    # reducing: axes shift past the batch axis; None reduces each example
    ("sum-all", lambda x: ops.reduce_sum(x), lambda x: x.sum(), [data(2, 4, 3)], 1),
    ("sum-scalar-examples", lambda x: ops.reduce_sum(x), lambda x: x.sum(), [data(4)], 0),
    ("mean-keep", lambda x: ops.reduce_mean(x, (1,), keep_dims=True),
     lambda x: x.mean((1,), keepdim=True), [data(4, 2, 3)], 0),
    ("max-neg-axis", lambda x: ops.ReduceMax()(x, -1), lambda x: x.amax(-1), [data(3, 4, 5)],
     2),
    ("logsumexp", lambda x: ops.logsumexp(x, 0), lambda x: torch.logsumexp(x, 0),
     [data(4, 3, 2)], 0),
    # along one axis
    ("softmax", lambda x: ops.softmax(x, axis=-1), lambda x: torch.softmax(x, -1), [data(3, 4)], 1),
    ("log-softmax", lambda x: ops.log_softmax(x, axis=0), lambda x: torch.log_softmax(x, 0),
     [data(4, 3, 2)], 0),
    ("cumsum", lambda x: ops.cumsum(x, 1), lambda x: torch.cumsum(x, 1), [data(4, 2, 3)], 0),
    ("argmax", lambda x: ops.argmax(x, axis=0), lambda x: torch.argmax(x, 0).int(),
     [data(4, 5, 3)], 0),
    ("argmax-all", lambda x: ops.Argmax(axis=None)(x), lambda x: torch.argmax(x).int(),
     [data(4, 5, 3)], 0),
    # shapes
    ("reshape", lambda x: ops.reshape(x, (-1, 2)), lambda x: x.reshape(-1, 2), [data(4, 2, 3)],
     0),
    ("reshape-after-batch", lambda x: ops.reshape(x, (4, 2, 3)), lambda x: x.reshape(4, 2, 3),
     [data(4, 5, 6)], 1),
    ("reshape-before-batch", lambda x: ops.reshape(x, (6, 5)), lambda x: x.reshape(6, 5),
     [data(2, 3, 4, 5)], 2),
    ("transpose", lambda x: ops.transpose(x, (2, 0, 1)), lambda x: x.permute(2, 0, 1),
     [data(2, 3, 4, 5)], 2),
    ("expand-dims", lambda x: ops.expand_dims(x, -1), lambda x: x.unsqueeze(-1),
     [data(4, 3)], 0),
    ("broadcast-to", lambda x: ops.broadcast_to(x, shape=(2, 3, 5)),
     lambda x: x.expand(2, 3, 5), [data(3, 4, 1)], 1),
    ("getitem", lambda x: x[1:, 0], lambda x: x[1:, 0], [data(4, 3, 2)], 0),
    ("getitem-newaxis", lambda x: x[None, ::-1], lambda x: x.flip(0)[None], [data(3, 4)], 1),
    ("concat", lambda x, y: ops.concat((x, y), axis=1), lambda x, y: torch.cat((x, y), 1),
     [data(4, 2, 3), data(2, 1)], (0, None)),
    ("stack", lambda x, y: ops.stack((x, y), axis=0), lambda x, y: torch.stack((x, y), 0),
     [data(4, 3), data(3, 4)], (0, 1)),
    ("gather-params", lambda p, i: ops.gather(p, i, 1), lambda p, i: p[:, i],
     [data(4, 2, 3), np.array([2, 0, 0, 1])], (0, None)),
    ("gather-indices", lambda p, i: ops.gather(p, i, 0), lambda p, i: p[i],
     [data(3, 2), I64], (None, 0)),
    ("gather-both", lambda p, i: ops.gather(p, i, 1), lambda p, i: p[:, i],
     [data(4, 2, 3), I64], (0, 0)),
    # products
    ("matmul-a", lambda a, b: ops.matmul(a, b), lambda a, b: a @ b,
     [data(4, 2, 3), data(3, 5)], (0, None)),
    ("matmul-a-transposed", lambda a, b: ops.MatMul(transpose_a=True)(a, b),
     lambda a, b: a.T @ b, [data(3, 4, 2), data(3, 5)], (1, None)),
    ("matmul-a-middle", lambda a, b: ops.matmul(a, b), lambda a, b: a @ b,
     [data(2, 4, 3), data(3, 5)], (1, None)),
    ("matmul-a-transposed-last", lambda a, b: ops.MatMul(transpose_a=True)(a, b),
     lambda a, b: a.T @ b, [data(3, 2, 4), data(3, 5)], (2, None)),
    ("matmul-b-transposed-middle", lambda a, b: ops.MatMul(transpose_b=True)(a, b),
     lambda a, b: a @ b.T, [data(2, 3), data(5, 4, 3)], (None, 1)),
    ("matmul-b-front", lambda a, b: ops.matmul(a, b), lambda a, b: a @ b,
     [data(2, 3), data(4, 3, 5)], (None, 0)),
    ("matmul-b", lambda a, b: ops.matmul(a, b), lambda a, b: a @ b,
     [data(2, 3), data(3, 5, 4)], (None, 2)),
    ("matmul-b-transposed", lambda a, b: ops.MatMul(transpose_b=True)(a, b),
     lambda a, b: a @ b.T, [data(2, 3), data(4, 5, 3)], (None, 0)),
    ("matmul-both", lambda a, b: ops.MatMul(transpose_a=True)(a, b), lambda a, b: a.T @ b,
     [data(4, 3, 2), data(3, 5, 4)], (0, 2)),
    ("batch-matmul", lambda a, b: ops.batch_matmul(a, b), lambda a, b: a @ b,
     [data(4, 3, 2), data(6, 2, 5)], (0, None)),
    ("einsum", lambda a, b: ops.Einsum("ij,jk->ki")((a, b)),
     lambda a, b: torch.einsum("ij,jk->ki", a, b), [data(2, 3), data(3, 4, 5)], (None, 1)),
]


@pytest.mark.parametrize("name, h_fn, t_fn, arrays, in_axes", CASES,
                         ids=[case[0] for case in CASES])
def test_each_batching_rule_matches_torch_func_vmap(name, h_fn, t_fn, arrays, in_axes, mode):
    h_args, t_args = both(*arrays)
    close(hograd.vmap(h_fn, in_axes=in_axes)(*h_args), tf.vmap(t_fn, in_dims=in_axes)(*t_args))


@pytest.mark.parametrize("name, h_fn, t_fn, arrays, in_axes", CASES,
                         ids=[case[0] for case in CASES])
def test_each_batching_rule_matches_a_loop_of_unbatched_calls(name, h_fn, t_fn, arrays,
                                                              in_axes):
    h_args, _ = both(*arrays)
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(arrays)
    size = next(a.shape[ax] for a, ax in zip(arrays, axes) if ax is not None)
    looped = np.stack([h_fn(*[t if ax is None else Tensor(np.take(a, k, axis=ax))
                              for t, a, ax in zip(h_args, arrays, axes)]).asnumpy()
                       for k in range(size)])
    close(hograd.vmap(h_fn, in_axes=in_axes)(*h_args), looped)


def test_gradients_of_gather_scatter_per_example_indices(mode):
    """The adjoint of Gather (GatherAdjoint) with batched indices, through per-sample grads."""
    params, indices = data(3, 4), np.array([[0, 2, 2], [1, 1, 3], [3, 0, 0]])
    weights = data(3, 3, 3)

    def h_loss(p, i, w):
        return ops.reduce_sum(ops.gather(p, i, 1) * w)

    def t_loss(p, i, w):
        return (p[:, i] * w).sum()

    got = hograd.vmap(hograd.grad(h_loss), in_axes=(None, 0, 0))(
        Tensor(params), Tensor(indices), Tensor(weights))
    want = tf.vmap(tf.grad(t_loss), in_dims=(None, 0, 0))(
        torch.tensor(params), torch.tensor(indices), torch.tensor(weights))
    close(got, want)


# ---- in_axes and out_axes -----------------------------------------------------------------------
def test_nested_in_axes_and_out_axes_follow_the_arguments_structure(mode):
    xs, w, bias = data(5, 3), data(3), data(3, 5)

    def fn(pair, scale):
        x, b = pair
        return x * scale + b, ops.reduce_sum(x)

    out, total = hograd.vmap(fn, in_axes=((0, 1), None), out_axes=(1, 0))(
        (Tensor(xs), Tensor(bias)), Tensor(w))
    close(out, (xs * w + bias.T).T)
    close(total, xs.sum(1))


def test_an_unbatched_output_with_out_axes_none_is_returned_once(mode):
    out, same = hograd.vmap(lambda x, w: (x * w, w * 2.0), in_axes=(0, None),
                            out_axes=(0, None))(Tensor(data(4, 3)), Tensor(np.ones(3)))
    close(same, np.full(3, 2.0))
    assert out.shape == (4, 3)


def test_an_unbatched_output_is_broadcast_along_out_axes(mode):
    out = hograd.vmap(lambda x, w: w * 2.0, in_axes=(0, None), out_axes=1)(
        Tensor(data(4, 3)), Tensor(np.ones(2)))
    close(out, np.full((2, 4), 2.0))


@pytest.mark.parametrize("call, message", [
    (lambda: hograd.vmap(lambda x, y: x + y)(Tensor(np.ones((3, 2))), Tensor(np.ones((4, 2)))),
     "different sizes"),
    (lambda: hograd.vmap(lambda x, y: x + y, in_axes=(0,))(Tensor(np.ones(3)),
                                                           Tensor(np.ones(3))),
     "in_axes has 1 entries but"),
    (lambda: hograd.vmap(lambda x: x, in_axes=2)(Tensor(np.ones((3, 2)))), "out of range"),
    (lambda: hograd.vmap(lambda x: x, in_axes=None)(Tensor(np.ones(3))), "no argument"),
    (lambda: hograd.vmap(lambda x: x, out_axes=None)(Tensor(np.ones(3))), "out_axes is None"),
    (lambda: hograd.vmap(lambda x: x, in_axes="0")(Tensor(np.ones(3))), "must be an int"),
])
def test_axes_that_do_not_fit_are_clear_errors(call, message):
    with pytest.raises(BatchingError, match=message):
        call()


# ---- composition ------------------------------------------------------------------------------
def mlp_loss(w1, w2, x, label):
    hidden = ops.tanh(ops.matmul(ops.reshape(x, (1, -1)), w1))
    logits = ops.matmul(hidden, w2)
    return -ops.reduce_sum(ops.log_softmax(logits, axis=-1) * label)


def t_mlp_loss(w1, w2, x, label):
    return -(torch.log_softmax(torch.tanh(x[None] @ w1) @ w2, -1) * label).sum()


def test_per_sample_gradients_match_torch_and_a_loop(mode):
    w1, w2, xs = data(6, 5), data(5, 3), data(8, 6)
    labels = np.eye(3)[RNG.integers(0, 3, 8)][:, None, :]
    per_sample = hograd.vmap(hograd.grad(mlp_loss, grad_position=(0, 1)),
                             in_axes=(None, None, 0, 0))
    g1, g2 = per_sample(Tensor(w1), Tensor(w2), Tensor(xs), Tensor(labels))
    t1, t2 = tf.vmap(tf.grad(t_mlp_loss, argnums=(0, 1)), in_dims=(None, None, 0, 0))(
        *[torch.tensor(a) for a in (w1, w2, xs, labels)])
    close(g1, t1)
    close(g2, t2)
    loop = hograd.grad(mlp_loss)(Tensor(w1), Tensor(w2), Tensor(xs[3]), Tensor(labels[3]))
    close(g1.asnumpy()[3], loop.asnumpy())


def test_grad_of_vmap_and_gradoperation_of_vmap(mode):
    xs = data(5, 3)

    def total(x):
        return ops.reduce_sum(hograd.vmap(lambda row: ops.sin(row) * ops.reduce_sum(row))(x))

    want = tf.grad(lambda x: tf.vmap(lambda r: torch.sin(r) * r.sum())(x).sum())(
        torch.tensor(xs))
    close(hograd.grad(total)(Tensor(xs)), want)
    close(ops.GradOperation()(total)(Tensor(xs)), want)
    # and the second derivative through the batched graph
    second = hograd.grad(lambda x: ops.reduce_sum(hograd.grad(total)(x) * x))(Tensor(xs))
    t_second = tf.grad(lambda x: (tf.grad(lambda y: tf.vmap(
        lambda r: torch.sin(r) * r.sum())(y).sum())(x) * x).sum())(torch.tensor(xs))
    close(second, t_second)


def test_vmap_of_jvp_vjp_and_jacobians(mode):
    xs, vs = data(4, 3), data(4, 3)
    fn, t_fn = (lambda x: ops.sin(x) * ops.reduce_sum(x * x)), (lambda x: torch.sin(x) * (x * x).sum())
    tangents = hograd.vmap(lambda x, v: hograd.jvp(fn, x, v)[1])(Tensor(xs), Tensor(vs))
    close(tangents, tf.vmap(lambda x, v: tf.jvp(t_fn, (x,), (v,))[1])(
        torch.tensor(xs), torch.tensor(vs)))
    cotangents = hograd.vmap(lambda x, v: hograd.vjp(fn, x)[1](v)[0])(Tensor(xs), Tensor(vs))
    close(cotangents, tf.vmap(lambda x, v: tf.vjp(t_fn, x)[1](v)[0])(
        torch.tensor(xs), torch.tensor(vs)))
    for h_jac, t_jac in ((hograd.jacrev, tf.jacrev), (hograd.jacfwd, tf.jacfwd)):
        close(hograd.vmap(h_jac(fn))(Tensor(xs)), tf.vmap(t_jac(t_fn))(torch.tensor(xs)))
    close(hograd.vmap(hograd.hessian(lambda x: ops.reduce_sum(fn(x))))(Tensor(xs)),
          tf.vmap(tf.hessian(lambda x: t_fn(x).sum()))(torch.tensor(xs)))


def test_jvp_of_vmap_and_jacobian_of_vmap(mode):
    xs, vs = data(4, 3), data(4, 3)
    batched = hograd.vmap(lambda x: ops.exp(x) * ops.reduce_sum(x))
    t_batched = tf.vmap(lambda x: torch.exp(x) * x.sum())
    close(hograd.jvp(batched, Tensor(xs), Tensor(vs))[1],
          tf.jvp(t_batched, (torch.tensor(xs),), (torch.tensor(vs),))[1])
    close(hograd.jacrev(batched)(Tensor(xs)), tf.jacrev(t_batched)(torch.tensor(xs)))


def test_nested_vmap_batches_both_axes(mode):
    a, b = data(3, 4), data(5, 4)
    pairwise = hograd.vmap(hograd.vmap(lambda x, y: ops.reduce_sum((x - y) ** 2),
                                       in_axes=(None, 0)), in_axes=(0, None))
    close(pairwise(Tensor(a), Tensor(b)), ((a[:, None] - b[None]) ** 2).sum(-1))


def test_a_cell_with_parameters_under_vmap(mode):
    net = hograd.nn.Dense(3, 2)
    xs = Tensor(data(4, 3), hograd.float32)
    out = hograd.vmap(lambda x: net(ops.reshape(x, (1, 3))))(xs)
    close(out, net(xs).asnumpy()[:, None, :], tol=1e-6)


# ---- Jacobians through vmap -------------------------------------------------------------------
def test_jacobians_are_one_batched_pass_not_a_loop_over_basis_vectors(mode):
    """Node count of jacrev's graph does not grow with the number of outputs."""
    from hograd.core.staging import stage

    def graph_size(n):
        x = Tensor(data(n))
        closed = stage(lambda v: hograd.jacrev(lambda y: ops.sin(y) * 2.0)(v), [x])
        return len(closed.graph.nodes)

    assert graph_size(3) == graph_size(12)


# ---- guards -----------------------------------------------------------------------------------
def branchy(x):
    if ops.reduce_sum(x) > 0:
        return x * 2.0
    return -x


def test_a_guard_that_differs_per_element_is_a_clear_error(mode):
    with pytest.raises(BatchingError, match="ops.Select"):
        hograd.vmap(branchy)(Tensor(np.array([[1.0, 2.0], [-3.0, 1.0]])))


def test_a_guard_all_elements_agree_on_gives_the_per_element_answer(mode):
    xs = np.array([[1.0, 2.0], [3.0, 1.0]])
    close(hograd.vmap(branchy)(Tensor(xs)), xs * 2.0)
    # a compiled variant met again with disagreeing elements errs, never answers wrongly
    with pytest.raises(BatchingError, match="batch element 1"):
        hograd.vmap(branchy)(Tensor(np.array([[1.0, 2.0], [-3.0, 1.0]])))


def test_a_guard_on_an_unbatched_value_is_fine(mode):
    def fn(x, w):
        return x * w if float(ops.reduce_sum(w)) > 0 else x - w

    close(hograd.vmap(fn, in_axes=(0, None))(Tensor(np.ones((3, 2))), Tensor(np.ones(2))),
          np.ones((3, 2)))


# ---- the fallback loop ------------------------------------------------------------------------
def test_an_op_without_a_rule_loops_with_a_warning_naming_it(mode):
    matrices = data(3, 2, 2) + 3.0 * np.eye(2)
    with pytest.warns(BatchingFallbackWarning, match="MatrixInverse"):
        got = hograd.vmap(ops.MatrixInverse())(Tensor(matrices))
    close(got, np.linalg.inv(matrices))


def test_assigning_a_batched_value_to_a_parameter_is_an_error():
    weight = hograd.Parameter(Tensor(np.zeros(2)), name="weight")
    with pytest.raises(BatchingError, match="weight"):
        hograd.vmap(lambda x: ops.assign(weight, x))(Tensor(np.ones((3, 2))))


# ---- the capability check ---------------------------------------------------------------------
def test_the_capability_check_verifies_rules_and_reports_loops():
    from hograd.capabilities.batch_check import check_batching
    from hograd.core.registry import registry
    reg = registry()
    assert check_batching(reg, reg.ops["MatMul"], "cpu").status == "batched"
    assert check_batching(reg, reg.ops["MatrixInverse"], "cpu").status == "loop"
    assert check_batching(reg, reg.ops["Fill"], "cpu").status == "no inputs"


def test_a_planted_wrong_batching_rule_is_reported_wrong(scratch_registry):
    from hograd.capabilities.batch_check import check_batching
    from hograd.extend import checks, sample, x
    from hograd.core.batching import vectorized
    from hograd.core.device import KernelSpec
    from hograd.core.dispatch import apply
    from hograd.ops.families import unary

    def reversed_batch(inputs, dims):  # the batch comes back in the wrong order
        out, dim = vectorized("PlantedSquare")(inputs, dims)
        return apply("GetItem", (out,), {"index": hograd.core.indexing.normalize_index(
            slice(None, None, -1), out.shape)}), dim

    op = unary("PlantedSquare", lambda g, out, x: g * x * 2.0, doc="planted",
               checks=checks(sample(x(3))))
    scratch_registry.add_op(op.model_copy(update={"batch": reversed_batch}), "test-suite")
    scratch_registry.add_kernel(KernelSpec(op="PlantedSquare", device="cpu", fn=np.square),
                                "test-suite")
    result = check_batching(scratch_registry, scratch_registry.ops["PlantedSquare"], "cpu")
    assert result.status == "wrong" and "differs from the loop" in result.detail


# ---- the example --------------------------------------------------------------------------------
def test_the_example_pinn_residual_jacobian_matches_torch():
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "vmap_per_sample.py"
    loader = importlib.util.spec_from_file_location("vmap_per_sample", path)
    example = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(example)
    w1, w2, points = data(2, 6), data(6, 1), data(4, 2)

    def t_residual(p):
        u = lambda q: (torch.tanh(q[None] @ torch.tensor(w1)) @ torch.tensor(w2)).sum()  # noqa
        return torch.trace(tf.hessian(u)(p)) + torch.sin(p[0]) * torch.sin(p[1])

    close(example.pinn_residual_jacobian(Tensor(w1), Tensor(w2), Tensor(points)),
          tf.vmap(tf.jacrev(t_residual))(torch.tensor(points)))
    grads = example.per_sample_gradients(Tensor(w1), Tensor(data(6, 3)), Tensor(points),
                                         Tensor(np.eye(3)[[0, 2, 1, 1]]))
    assert grads.shape == (4, 2, 6)
