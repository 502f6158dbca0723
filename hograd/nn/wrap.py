"""Training wrappers, MindSpore's names: ``WithLossCell`` (network + loss) and
``TrainOneStepCell`` (loss, gradients w.r.t. the optimizer's parameters, update).

>>> train = nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()), nn.Adam(net.trainable_params()))
>>> loss = train(x, y)        # one step: the parameters are updated
"""
from __future__ import annotations

from .. import ops
from ..core.grad import GradOperation
from .cell import Cell


class WithLossCell(Cell):
    """``loss_fn(backbone(data), label)``."""

    def __init__(self, backbone: Cell, loss_fn: Cell) -> None:
        super().__init__(auto_prefix=False)
        self._backbone = backbone
        self._loss_fn = loss_fn

    def construct(self, data, label):
        return self._loss_fn(self._backbone(data), label)

    @property
    def backbone_network(self) -> Cell:
        return self._backbone


class TrainOneStepCell(Cell):
    """One training step per call: the loss of ``network(*inputs)``, its gradients w.r.t.
    ``optimizer.parameters`` (scaled by ``sens``), the optimizer's update; returns the loss.

    In ``GRAPH_MODE`` the whole step (forward, gradient, update) is one compiled graph.
    """

    def __init__(self, network: Cell, optimizer: Cell, sens: float = 1.0) -> None:
        super().__init__(auto_prefix=False)
        self.network = network
        self.optimizer = optimizer
        self.weights = optimizer.parameters
        self.sens = float(sens)
        self.grad = GradOperation(get_by_list=True, sens_param=True)

    def construct(self, *inputs):
        loss = self.network(*inputs)
        sens = ops.fill(loss.dtype, loss.shape, self.sens)
        grads = self.grad(self.network, self.weights)(*inputs, sens)
        return ops.depend(loss, self.optimizer(grads))
