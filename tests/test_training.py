"""Training APIs: layers, losses, optimizers (against their update rules in numpy), the
functional and TrainOneStepCell styles, pickling and checkpoints — in both modes."""
import copy
import pickle

import numpy as np
import pytest
import torch

import hograd
from hograd import Parameter, ParameterTuple, Tensor, nn, ops
from hograd.serialization import CheckpointError


def _data(rows=8, features=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, features)).astype(np.float32)
    return x, (x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)


def test_dense_is_x_times_w_transposed_plus_b_then_activation():
    layer = nn.Dense(3, 2, weight_init=np.array([[1.0, 0.0, 2.0], [0.5, -1.0, 0.0]]),
                     bias_init=np.array([0.1, -0.2]), activation="relu")
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]], np.float32)
    expected = np.maximum(x @ layer.weight.asnumpy().T + [0.1, -0.2], 0)
    np.testing.assert_allclose(layer(Tensor(x)).asnumpy(), expected, rtol=1e-6)
    assert layer.weight.shape == (2, 3) and layer.weight.dtype == hograd.float32
    batched = layer(Tensor(np.stack([x, x])))
    np.testing.assert_allclose(batched.asnumpy()[1], expected, rtol=1e-6)


def test_default_dense_init_is_seeded_and_bounded():
    hograd.set_seed(5)
    first = nn.Dense(16, 4).weight.asnumpy()
    hograd.set_seed(5)
    np.testing.assert_array_equal(nn.Dense(16, 4).weight.asnumpy(), first)
    assert np.abs(first).max() <= 1 / np.sqrt(16) + 1e-7     # HeUniform(√5): bound 1/√fan_in


def test_activations_match_torch():
    x = np.linspace(-3, 3, 13)
    t = torch.tensor(x)
    for cell, reference in [(nn.Tanh(), torch.tanh), (nn.ReLU(), torch.relu),
                            (nn.Sigmoid(), torch.sigmoid), (nn.Softplus(), torch.nn.functional.softplus),
                            (nn.SiLU(), torch.nn.functional.silu),
                            (nn.GELU(), lambda v: torch.nn.functional.gelu(v, approximate="tanh")),
                            (nn.GELU(approximate=False), torch.nn.functional.gelu)]:
        np.testing.assert_allclose(cell(Tensor(x)).asnumpy(), reference(t).numpy(), rtol=1e-12,
                                   atol=1e-14, err_msg=type(cell).__name__)
    assert nn.Flatten()(Tensor(np.zeros((2, 3, 4)))).shape == (2, 12)


def test_losses_match_torch():
    rng = np.random.default_rng(0)
    logits, labels = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)) * 2
    a, b = torch.tensor(logits), torch.tensor(labels)
    F = torch.nn.functional
    cases = [(nn.MSELoss(), F.mse_loss(a, b)), (nn.L1Loss(reduction="sum"), F.l1_loss(a, b, reduction="sum")),
             (nn.SmoothL1Loss(beta=0.5), F.smooth_l1_loss(a, b, beta=0.5, reduction="none"))]
    for loss, want in cases:
        np.testing.assert_allclose(loss(Tensor(logits), Tensor(labels)).asnumpy(), want.numpy(),
                                   rtol=1e-12)
    classes = np.array([2, 0, 1, 1])
    sparse = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    np.testing.assert_allclose(sparse(Tensor(logits), Tensor(classes)).asnumpy(),
                               F.cross_entropy(a, torch.tensor(classes)).numpy(), rtol=1e-12)
    dense = nn.SoftmaxCrossEntropyWithLogits()
    probabilities = np.eye(3)[classes]
    np.testing.assert_allclose(dense(Tensor(logits), Tensor(probabilities)).asnumpy(),
                               F.cross_entropy(a, torch.tensor(classes), reduction="none").numpy(),
                               rtol=1e-12)


def _numpy_steps(kind, params, grads_of, steps, lr=0.1, **hyper):
    """The optimizers' update rules, written out in numpy: the reference."""
    state = [dict(m=np.zeros_like(p), v=np.zeros_like(p), first=True) for p in params]
    for t in range(1, steps + 1):
        grads = grads_of(params)
        for p, g, s in zip(params, grads, state):
            if kind == "momentum":
                s["m"] = hyper["momentum"] * s["m"] + g
                p -= lr * s["m"]
            elif kind == "sgd":
                s["m"] = g if s["first"] else hyper["momentum"] * s["m"] + g
                s["first"] = False
                p -= lr * s["m"]
            elif kind == "adam":
                b1, b2, eps = 0.9, 0.999, 1e-8
                s["m"] = b1 * s["m"] + (1 - b1) * g
                s["v"] = b2 * s["v"] + (1 - b2) * g * g
                p -= lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * s["m"] / (np.sqrt(s["v"]) + eps)
            elif kind == "adamw":
                b1, b2, eps, wd = 0.9, 0.999, 1e-6, hyper["weight_decay"]
                s["m"] = b1 * s["m"] + (1 - b1) * g
                s["v"] = b2 * s["v"] + (1 - b2) * g * g
                p -= lr * (s["m"] / (np.sqrt(s["v"]) + eps) + wd * p)
    return params


OPTIMIZERS = {
    "momentum": (lambda ps: nn.Momentum(ps, 0.1, momentum=0.9), dict(momentum=0.9)),
    "sgd": (lambda ps: nn.SGD(ps, 0.1, momentum=0.5), dict(momentum=0.5)),
    "adam": (lambda ps: nn.Adam(ps, 0.1), {}),
    "adamw": (lambda ps: nn.AdamWeightDecay(ps, 0.1, weight_decay=0.01), dict(weight_decay=0.01)),
}


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_optimizer_updates_follow_their_rule_in_the_functional_style(kind, mode):
    make, hyper = OPTIMIZERS[kind]
    start = np.array([[1.0, -2.0], [0.5, 3.0]])
    w = Parameter(Tensor(start), name="w")
    target = Tensor(np.array([[0.0, 1.0], [2.0, -1.0]]))

    def forward(t):
        return ops.reduce_sum(ops.square(w * t - target))

    optimizer = make([w])
    grad_fn = ops.GradOperation(get_by_list=True)(forward, optimizer.parameters)
    for _ in range(4):
        optimizer(grad_fn(Tensor(np.ones((2, 2)))))
    expected = _numpy_steps(kind, [start.copy()],
                            lambda ps: [2 * (ps[0] - target.asnumpy())], 4, **hyper)[0]
    # the learning rate and Adam's β powers are float32 state, as in MindSpore: 1 - 0.999 in
    # float32 is off by 1.3e-5 relatively, which the bias correction carries
    np.testing.assert_allclose(w.asnumpy(), expected, rtol=2e-5, atol=1e-7)
    assert optimizer.global_step.asnumpy().tolist() == [4]


def test_learning_rate_lists_and_schedules_are_followed(mode):
    w = Parameter(Tensor(np.array([0.0])), name="w")
    one = (Tensor(np.array([1.0])),)
    listed = nn.SGD([w], learning_rate=[0.5, 0.25, 0.125])
    for _ in range(4):
        listed(one)
    np.testing.assert_allclose(w.asnumpy(), [-(0.5 + 0.25 + 0.125 + 0.125)])
    v = Parameter(Tensor(np.array([0.0])), name="v")
    decayed = nn.SGD([v], learning_rate=nn.ExponentialDecayLR(1.0, 0.5, decay_steps=1))
    for _ in range(3):
        decayed((Tensor(np.array([1.0])),))
    np.testing.assert_allclose(v.asnumpy(), [-(1 + 0.5 + 0.25)], rtol=1e-6)
    u = Parameter(Tensor(np.array([0.0])), name="u")
    by_function = nn.SGD([u], learning_rate=lambda step: ops.cast(step, hograd.float32) * 0.0 + 2.0)
    by_function((Tensor(np.array([1.0])),))
    np.testing.assert_allclose(u.asnumpy(), [-2.0])


def test_train_one_step_cell_matches_torch_in_float32(mode):
    x, y = _data()
    hograd.set_seed(0)
    net = nn.SequentialCell([nn.Dense(3, 8, activation="tanh"), nn.Dense(8, 1)])
    initial = [p.asnumpy().copy() for p in net.trainable_params()]
    train = nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()),
                                nn.Momentum(net.trainable_params(), 0.05, 0.9))
    losses = [float(train(Tensor(x), Tensor(y)).asnumpy()) for _ in range(6)]

    layers = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    with torch.no_grad():
        for tp, value in zip(layers.parameters(), initial):
            tp.copy_(torch.tensor(value))
    sgd = torch.optim.SGD(layers.parameters(), lr=0.05, momentum=0.9)
    expected = []
    for _ in range(6):
        sgd.zero_grad()
        loss = torch.nn.functional.mse_loss(layers(torch.tensor(x)), torch.tensor(y))
        loss.backward()
        sgd.step()
        expected.append(loss.item())
    np.testing.assert_allclose(losses, expected, rtol=1e-5)
    assert losses[-1] < 0.5 * losses[0]


def test_optimizer_refuses_wrong_gradients_clearly():
    w = Parameter(Tensor(np.zeros(2)), name="w")
    with pytest.raises(ValueError, match="got 2 gradients for 1 parameters"):
        nn.Adam([w])((Tensor(np.zeros(2)), Tensor(np.zeros(2))))
    with pytest.raises(ValueError, match="parameters is empty"):
        nn.SGD([])


def test_tensors_parameters_and_cells_pickle_and_deepcopy(mode):
    hograd.set_seed(2)
    net = nn.SequentialCell([nn.Dense(2, 3, activation=nn.Tanh()), nn.Dense(3, 1)])
    x = Tensor(np.array([[0.3, -0.7]], np.float32))
    before = net(x).asnumpy()
    for clone in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        np.testing.assert_array_equal(clone(x).asnumpy(), before)
        clone[0].weight.set_data(np.zeros((3, 2), np.float32))   # independent of the original
        np.testing.assert_array_equal(net(x).asnumpy(), before)
    p = pickle.loads(pickle.dumps(Parameter(Tensor([1.5, 2.5]), name="p", requires_grad=False)))
    assert (p.name, p.requires_grad, p.asnumpy().tolist()) == ("p", False, [1.5, 2.5])
    t = copy.deepcopy(Tensor(np.arange(3, dtype=np.int32)))
    assert t.dtype == hograd.int32 and t.tolist() == [0, 1, 2]


def test_checkpoints_round_trip_network_and_optimizer_state(tmp_path, mode):
    x, y = _data()
    hograd.set_seed(1)
    net = nn.SequentialCell([nn.Dense(3, 4, activation="tanh"), nn.Dense(4, 1)])
    train = nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()),
                                nn.Adam(net.trainable_params(), 0.01))
    for _ in range(3):
        train(Tensor(x), Tensor(y))
    path = tmp_path / "train.ckpt"
    hograd.save_checkpoint(train, path)
    saved = hograd.load_checkpoint(path)
    assert {"0.weight", "1.bias", "moment1.0.weight", "moment2.1.bias", "global_step"} <= set(saved)
    assert saved["global_step"].asnumpy().tolist() == [3]
    continued = [float(train(Tensor(x), Tensor(y)).asnumpy()) for _ in range(2)]

    hograd.set_seed(99)
    net2 = nn.SequentialCell([nn.Dense(3, 4, activation="tanh"), nn.Dense(4, 1)])
    train2 = nn.TrainOneStepCell(nn.WithLossCell(net2, nn.MSELoss()),
                                 nn.Adam(net2.trainable_params(), 0.01))
    assert hograd.load_param_into_net(train2, saved) == ([], [])
    resumed = [float(train2(Tensor(x), Tensor(y)).asnumpy()) for _ in range(2)]
    np.testing.assert_array_equal(resumed, continued)


def test_checkpoint_errors_name_the_parameter_and_what_to_do(tmp_path):
    net = nn.Dense(3, 2)
    path = tmp_path / "dense.ckpt"
    hograd.save_checkpoint(net, path)
    with pytest.raises(CheckpointError, match=r"'weight' has shape \(4, 3\) in the network but "
                                              r"\(2, 3\) in the checkpoint"):
        hograd.load_param_into_net(nn.Dense(3, 4), hograd.load_checkpoint(path))
    with pytest.warns(RuntimeWarning, match="no value for 1 Parameter"):
        missing = hograd.load_param_into_net(nn.Dense(3, 2), {"weight": net.weight})
    assert missing == (["bias"], [])
    with pytest.raises(CheckpointError, match="no value for 1 Parameter"):
        hograd.load_param_into_net(nn.Dense(3, 2), {"weight": net.weight}, strict_load=True)
    with pytest.raises(CheckpointError, match="no checkpoint file"):
        hograd.load_checkpoint(tmp_path / "absent.ckpt")
    evil = tmp_path / "evil.ckpt"
    with evil.open("wb") as out:
        np.save(out, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(CheckpointError, match="not a hograd checkpoint"):
        hograd.load_checkpoint(evil)


def _train_on(device_target: str, steps: int = 4) -> tuple[list[float], list]:
    hograd.set_context(device_target=device_target)
    try:
        x, y = _data()
        hograd.set_seed(4)
        net = nn.SequentialCell([nn.Dense(3, 6, activation="tanh"), nn.Dense(6, 1)])
        train = nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()),
                                    nn.Adam(net.trainable_params(), 0.05))
        losses = [float(train(Tensor(x), Tensor(y)).asnumpy()) for _ in range(steps)]
        return losses, [p._data for p in train.get_parameters()]
    finally:
        hograd.set_context(device_target="cpu")


def test_training_runs_on_another_device_with_the_parameters_kept_there(scratch_registry, mode):
    # the Ascend kernels bound to torch CPU tensors: a device whose arrays are not numpy's
    from hograd.devices.ascend import torch_device_spec, torch_kernels
    device = torch_device_spec("torch-cpu", torch, "cpu")
    scratch_registry.add_device(device, "test-suite")
    for kernel in torch_kernels("torch-cpu", torch):
        scratch_registry.add_kernel(kernel, "test-suite")
    on_cpu, _ = _train_on("cpu")
    on_torch, arrays = _train_on("torch-cpu")
    assert all(isinstance(a, torch.Tensor) for a in arrays)   # weights and optimizer state
    np.testing.assert_allclose(on_torch, on_cpu, rtol=1e-5)
