# A MindSpore 2.x training script; only the imports name hograd instead of mindspore.
import numpy as np

import hograd as ms
from hograd import Tensor, nn

ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")

rng = np.random.default_rng(0)
x = rng.standard_normal((32, 4)).astype(np.float32)
y = (np.sin(x[:, :1]) + 0.5 * x[:, 1:2] * x[:, 2:3]).astype(np.float32)
W1 = (rng.standard_normal((16, 4)) * 0.5).astype(np.float32)
W2 = (rng.standard_normal((1, 16)) * 0.5).astype(np.float32)


class Net(nn.Cell):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Dense(4, 16, weight_init=Tensor(W1), bias_init="zeros", activation="tanh")
        self.fc2 = nn.Dense(16, 1, weight_init=Tensor(W2), bias_init="zeros")

    def construct(self, x):
        return self.fc2(self.fc1(x))


net = Net()
loss_fn = nn.MSELoss()
optimizer = nn.Momentum(net.trainable_params(), learning_rate=0.02, momentum=0.9)
train_net = nn.TrainOneStepCell(nn.WithLossCell(net, loss_fn), optimizer)
train_net.set_train()
for step in range(20):
    loss = train_net(Tensor(x), Tensor(y))
    print(f"step: {step}, loss: {loss.asnumpy():.7f}")
