"""MindSpore 2.x's functional transforms and forward mode, against torch.func in float64."""
import numpy as np
import pytest
import torch
from torch import func as tf

import hograd
from hograd import Parameter, ParameterTuple, Tensor, nn, ops
from hograd.ops import composite as C



@pytest.fixture(autouse=True)
def torch_in_float64():
    """torch's own defaults in float64 for these tests only (a module-level switch leaked into
    every test collected after this file)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def f64(*values):
    return Tensor(np.array(values, dtype=np.float64))


def close(got, want, tol=1e-10):
    got = got.asnumpy() if isinstance(got, Tensor) else np.asarray(got)
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def as_torch(t):
    return torch.tensor(t.asnumpy())


# one function, written twice: in hograd ops and in torch
def h_field(x, y):
    return ops.sin(x) * y + ops.exp(x * 0.3) * ops.reduce_sum(y * y)


def t_field(x, y):
    return torch.sin(x) * y + torch.exp(x * 0.3) * torch.sum(y * y)


def h_energy(x):
    return ops.reduce_sum(ops.tanh(x) * x * x) + ops.reduce_sum(ops.matmul(
        ops.reshape(x, (1, 3)), ops.reshape(ops.sin(x), (3, 1))))


def t_energy(x):
    return torch.sum(torch.tanh(x) * x * x) + torch.sum(x.reshape(1, 3) @ torch.sin(x).reshape(3, 1))


X, Y, V, W = (f64(0.3, -1.2, 0.8), f64(1.5, 0.4, -0.7), f64(0.2, 1.0, -0.5), f64(-0.4, 0.6, 1.1))


def test_jvp_matches_torch_func(mode):
    out, tangent = ops.jvp(h_field, (X, Y), (V, W))
    want_out, want_tangent = tf.jvp(t_field, (as_torch(X), as_torch(Y)), (as_torch(V), as_torch(W)))
    close(out, want_out)
    close(tangent, want_tangent)


def test_vjp_matches_torch_func(mode):
    out, vjp_fn = ops.vjp(h_field, X, Y)
    want_out, want_fn = tf.vjp(t_field, as_torch(X), as_torch(Y))
    close(out, want_out)
    for got, want in zip(vjp_fn(V), want_fn(as_torch(V))):
        close(got, want)


@pytest.mark.parametrize("transform, reference", [(ops.jacfwd, tf.jacfwd), (ops.jacrev, tf.jacrev)])
def test_jacobians_match_torch_func(mode, transform, reference):
    got = transform(h_field, grad_position=(0, 1))(X, Y)
    want = reference(t_field, argnums=(0, 1))(as_torch(X), as_torch(Y))
    for g, w in zip(got, want):
        close(g, w)
    close(transform(h_field)(X, Y), reference(t_field)(as_torch(X), as_torch(Y)))


def test_hessian_matches_torch_func(mode):
    close(hograd.hessian(h_energy)(X), tf.hessian(t_energy)(as_torch(X)))
    close(ops.jacfwd(ops.jacrev(h_energy))(X), tf.jacfwd(tf.jacrev(t_energy))(as_torch(X)))


def test_grad_of_jvp_is_a_hessian_vector_product(mode):
    # forward over reverse, and reverse over forward: both are H·v
    want = tf.jvp(tf.grad(t_energy), (as_torch(X),), (as_torch(V),))[1]
    close(hograd.hvp(h_energy, X, V), want)
    directional = lambda x: ops.jvp(h_energy, x, V)[1]  # noqa: E731
    close(hograd.grad(directional)(X), want)
    close(ops.GradOperation()(directional)(X), want)


def test_fourth_derivative_through_grad(mode):
    f = lambda x: ops.reduce_sum(ops.sin(x) * ops.exp(x * 0.5))  # noqa: E731
    g4 = hograd.grad(hograd.grad(hograd.grad(hograd.grad(f))))
    want = (tf.grad(tf.grad(tf.grad(tf.grad(lambda x: torch.sum(torch.sin(x) * torch.exp(x * 0.5)))))))
    for point in (0.3, -1.1):
        close(g4(f64(point)[0]), want(torch.tensor(point)))


def test_fourth_derivative_in_forward_mode_costs_one_node_per_term(mode):
    # jvp nested four times: the fourth derivative of sin along 1 is sin itself
    def d(f):
        return lambda x: ops.jvp(f, x, ops.ones_like(x))[1]
    close(d(d(d(d(ops.sin))))(X), np.sin(X.asnumpy()))


def test_value_and_grad_with_the_weights_of_a_cell(mode):
    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.w = Parameter(f64(0.5, -1.0, 2.0), name="w")
            self.b = Parameter(f64(0.1), name="b")

        def construct(self, x):
            return ops.reduce_sum(ops.tanh(x * self.w) + self.b)

    net = Net()
    value, (gx, (gw, gb)) = hograd.value_and_grad(net, 0, ParameterTuple(net.trainable_params()))(X)
    w, b, x = (torch.tensor(net.w.asnumpy(), requires_grad=True), torch.tensor(net.b.asnumpy(), requires_grad=True), torch.tensor(X.asnumpy(), requires_grad=True))
    out = torch.sum(torch.tanh(x * w) + b)
    out.backward()
    close(value, out)
    close(gx, x.grad)
    close(gw, w.grad)
    close(gb, b.grad)
    weights_only = hograd.grad(net, grad_position=None, weights=net.w)(X)
    close(weights_only, w.grad)


def test_grad_positions_aux_and_ids(mode):
    def fn(x, y, z):
        return x * y * z, x + y

    grads, aux = hograd.grad(fn, grad_position=(1, 2), has_aux=True)(X, Y, V)
    close(grads[0], (X * V).asnumpy())
    close(grads[1], (X * Y).asnumpy())
    assert isinstance(aux, tuple) and len(aux) == 1
    close(aux[0], (X + Y).asnumpy())
    (value, extra), grad_x = hograd.value_and_grad(fn, has_aux=True)(X, Y, V)
    close(value, (X * Y * V).asnumpy())
    close(extra, (X + Y).asnumpy())
    close(grad_x, (Y * V).asnumpy())
    ids = hograd.grad(lambda x, y: x * y, grad_position=(0, 1), return_ids=True)(X, Y)
    assert [i for i, _ in ids] == [0, 1]
    close(ids[1][1], X.asnumpy())


def test_jvp_and_vjp_with_aux(mode):
    fn = lambda x: (ops.sin(x), x * 2.0)  # noqa: E731
    out, tangent, aux = ops.jvp(fn, X, V, has_aux=True)
    close(tangent, np.cos(X.asnumpy()) * V.asnumpy())
    close(aux[0], X.asnumpy() * 2.0)
    out, vjp_fn, aux = ops.vjp(fn, X, has_aux=True)
    close(vjp_fn(V)[0], np.cos(X.asnumpy()) * V.asnumpy())


def test_jvp_through_control_flow_and_a_cell_with_bprop(mode):
    class Cube(nn.Cell):
        def construct(self, x):
            return x * x * x

        def bprop(self, x, out, dout):
            return (dout * 3.0 * x * x,)

    cube = Cube()

    def branchy(x):
        if ops.reduce_sum(x) > 0:
            return cube(x) * 2.0
        return ops.sin(cube(x))

    # forward mode differentiates construct (x³), reverse mode uses the bprop: they agree here
    for point in (X, -X - 1.0):
        x = point.asnumpy()
        want = (6.0 * x * x if x.sum() > 0 else np.cos(x ** 3) * 3.0 * x * x) * V.asnumpy()
        close(ops.jvp(branchy, point, V)[1], want)
        close(ops.jacfwd(branchy)(point), ops.jacrev(branchy)(point).asnumpy())


def test_transforms_inside_a_cell_nest_with_grad_operation(mode):
    class Directional(nn.Cell):
        def construct(self, x, v):
            return ops.jvp(h_energy, x, v)[1]

    # ∂/∂x and ∂/∂v of vᵀ∇E(x): (H v, ∇E)
    gx, gv = C.GradOperation(get_all=True)(Directional())(X, V)
    close(gx, tf.jvp(tf.grad(t_energy), (as_torch(X),), (as_torch(V),))[1])
    close(gv, tf.grad(t_energy)(as_torch(X)))


def test_jvp_of_r1_to_r1000_is_one_sweep_not_a_thousand():
    grid = Tensor(np.linspace(0.0, 1.0, 1000))

    def curve(t):
        return ops.sin(grid * t) * t

    from hograd.context import current_device
    from hograd.core.forward import jvp_graph
    from hograd.core.staging import stage
    forward = stage(curve, [f64(0.7)[0]])
    derived = jvp_graph(forward, [0], current_device())
    # one sweep: a few nodes per forward node, independent of the 1000 outputs
    assert len(derived.graph.nodes) <= 4 * len(forward.graph.nodes) + 4
    out, tangent = ops.jvp(curve, f64(0.7)[0], f64(1.0)[0])
    g = grid.asnumpy()
    close(tangent, np.cos(g * 0.7) * g * 0.7 + np.sin(g * 0.7))


def test_get_all_without_tensors_is_an_empty_tuple(mode):
    assert C.GradOperation(get_all=True)(lambda a, b: Tensor(1.0))(1.0, 2.0) == ()


def test_integer_inputs_get_integer_gradients(mode):
    grads = C.GradOperation(get_all=True)(lambda x, y: 2 * x + y)(
        Tensor(np.array(3, np.int32)), Tensor(np.array(1, np.int32)))
    assert [g.dtype for g in grads] == [hograd.int32, hograd.int32]
    assert [int(g.asnumpy()) for g in grads] == [2, 1]


def test_misuse_says_what_is_wrong():
    from hograd.core.errors import GradArgumentError
    with pytest.raises(GradArgumentError, match="more than one output"):
        hograd.grad(ops.sin, has_aux=True)(X)
    with pytest.raises(GradArgumentError, match="one tangent per input"):
        ops.jvp(h_field, (X, Y), (V,))
    with pytest.raises(GradArgumentError, match="not a Tensor"):
        hograd.grad(lambda x, k: x * k, grad_position=1)(X, 2.0)
    with pytest.raises(GradArgumentError, match="both be None"):
        hograd.grad(ops.sin, grad_position=None)
