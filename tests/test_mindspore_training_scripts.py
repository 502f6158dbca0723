"""MindSpore 2.x training scripts (tests/mindspore_scripts/, imports renamed to hograd) run and
print the losses an independent torch float32 computation of the same steps gives, in
GRAPH_MODE and PYNATIVE_MODE."""
import contextlib
import io
import pathlib
import re

import numpy as np
import pytest
import torch

SCRIPTS = pathlib.Path(__file__).resolve().parent / "mindspore_scripts"


def run_script(name: str, mode: str) -> tuple[dict, str]:
    """Run a script (its set_context line switched to ``mode``); its namespace and output."""
    source = (SCRIPTS / f"{name}.py").read_text()
    if mode == "pynative":
        source = source.replace("mode=ms.GRAPH_MODE", "mode=ms.PYNATIVE_MODE")
    namespace = {"__name__": "__main__"}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(source, str(SCRIPTS / f"{name}.py"), "exec"), namespace)
    return namespace, output.getvalue()


def printed_losses(output: str) -> list[float]:
    return [float(v) for v in re.findall(r"step: \d+, loss: ([-\d.e]+)", output)]


@pytest.mark.parametrize("mode", ["graph", "pynative"])
def test_regression_script_with_train_one_step_cell_and_momentum(mode):
    namespace, output = run_script("train_regression", mode)
    x, y = torch.tensor(namespace["x"]), torch.tensor(namespace["y"])
    w1 = torch.tensor(namespace["W1"], requires_grad=True)
    w2 = torch.tensor(namespace["W2"], requires_grad=True)
    b1 = torch.zeros(16, requires_grad=True)
    b2 = torch.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    moments = [torch.zeros_like(p) for p in params]
    expected = []
    for _ in range(20):
        loss = ((torch.tanh(x @ w1.T + b1) @ w2.T + b2 - y) ** 2).mean()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, m, g in zip(params, moments, grads):
                m.mul_(0.9).add_(g)          # MindSpore's ApplyMomentum
                p.sub_(0.02 * m)
        expected.append(loss.item())
    losses = printed_losses(output)
    assert len(losses) == 20
    np.testing.assert_allclose(losses, expected, rtol=2e-5, atol=1e-6)
    assert losses[-1] < 0.3 * losses[0]


@pytest.mark.parametrize("mode", ["graph", "pynative"])
def test_classifier_script_with_jit_adam_and_a_checkpoint(mode):
    namespace, output = run_script("train_classifier", mode)
    x, labels = torch.tensor(namespace["data"]), torch.tensor(namespace["labels"])
    w1 = torch.tensor(namespace["W1"], requires_grad=True)
    w2 = torch.tensor(namespace["W2"], requires_grad=True)
    b1 = torch.zeros(8, requires_grad=True)
    b2 = torch.zeros(3, requires_grad=True)
    params = [w1, b1, w2, b2]
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    beta1_power = beta2_power = torch.tensor(1.0)
    expected = []
    for _ in range(15):
        logits = torch.relu(x @ w1.T + b1) @ w2.T + b2
        loss = torch.nn.functional.cross_entropy(logits, labels)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            beta1_power, beta2_power = beta1_power * 0.9, beta2_power * 0.999
            lr = 0.05 * torch.sqrt(1 - beta2_power) / (1 - beta1_power)
            for p, mi, vi, g in zip(params, m, v, grads):   # MindSpore's ApplyAdam
                mi.mul_(0.9).add_(0.1 * g)
                vi.mul_(0.999).add_(0.001 * g * g)
                p.sub_(lr * mi / (torch.sqrt(vi) + 1e-8))
        expected.append(loss.item())
    losses = printed_losses(output)
    np.testing.assert_allclose(losses, expected, rtol=2e-5, atol=1e-6)
    final = torch.nn.functional.cross_entropy(torch.relu(x @ w1.T + b1) @ w2.T + b2, labels)
    reloaded = float(re.search(r"reloaded loss: ([-\d.e]+)", output).group(1))
    assert reloaded == pytest.approx(final.item(), rel=2e-5)
    assert float(re.search(r"accuracy: ([\d.]+)", output).group(1)) > 0.9
