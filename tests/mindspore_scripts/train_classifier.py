# A MindSpore 2.x training script in the functional style; only the imports name hograd.
import os
import tempfile

import numpy as np

import hograd as ms
from hograd import Tensor, nn, ops

ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")

rng = np.random.default_rng(1)
centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]], np.float32)
labels = rng.integers(0, 3, 60)
data = (centers[labels] + rng.standard_normal((60, 2)) * 0.6).astype(np.float32)
W1 = (rng.standard_normal((8, 2)) * 0.7).astype(np.float32)
W2 = (rng.standard_normal((3, 8)) * 0.7).astype(np.float32)

model = nn.SequentialCell([nn.Dense(2, 8, weight_init=Tensor(W1), bias_init="zeros"), nn.ReLU(),
                           nn.Dense(8, 3, weight_init=Tensor(W2), bias_init="zeros")])
loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
optimizer = nn.Adam(model.trainable_params(), learning_rate=0.05)


def forward_fn(inputs, targets):
    return loss_fn(model(inputs), targets)


grad_fn = ops.GradOperation(get_by_list=True)(forward_fn, optimizer.parameters)


@ms.jit
def train_step(inputs, targets):
    loss = forward_fn(inputs, targets)
    optimizer(grad_fn(inputs, targets))
    return loss


inputs, targets = Tensor(data), Tensor(labels.astype(np.int32))
for step in range(15):
    loss = train_step(inputs, targets)
    print(f"step: {step}, loss: {loss.asnumpy():.7f}")

accuracy = (model(inputs).argmax(axis=1) == targets).astype(ms.float32).mean()
print(f"accuracy: {accuracy.asnumpy():.4f}")
with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "model.ckpt")
    ms.save_checkpoint(model, path)
    reloaded = nn.SequentialCell([nn.Dense(2, 8), nn.ReLU(), nn.Dense(8, 3)])
    ms.load_param_into_net(reloaded, ms.load_checkpoint(path))
    print(f"reloaded loss: {loss_fn(reloaded(inputs), targets).asnumpy():.7f}")
