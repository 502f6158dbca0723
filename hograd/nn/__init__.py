"""Neural-network building blocks, MindSpore's names: ``Cell``; layers (``Dense``,
``SequentialCell``, ``CellList``, ``Flatten``); activations; losses; ``WithLossCell`` and
``TrainOneStepCell``; optimizers (``SGD``, ``Momentum``, ``Adam``, ``AdamWeightDecay``) and
learning-rate schedules."""
from .activation import GELU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh, get_activation
from .cell import Cell
from .layers import CellList, Dense, Flatten, SequentialCell
from .learning_rate_schedule import CosineDecayLR, ExponentialDecayLR, LearningRateSchedule
from .loss import L1Loss, LossBase, MSELoss, SmoothL1Loss, SoftmaxCrossEntropyWithLogits
from .optim import SGD, Adam, AdamWeightDecay, Momentum, Optimizer
from .wrap import TrainOneStepCell, WithLossCell

__all__ = ["Cell", "Dense", "SequentialCell", "CellList", "Flatten", "Tanh", "ReLU", "Sigmoid",
           "Softplus", "GELU", "SiLU", "Softmax", "LogSoftmax", "get_activation", "LossBase",
           "MSELoss", "L1Loss", "SmoothL1Loss", "SoftmaxCrossEntropyWithLogits", "WithLossCell",
           "TrainOneStepCell", "Optimizer", "SGD", "Momentum", "Adam", "AdamWeightDecay",
           "LearningRateSchedule", "ExponentialDecayLR", "CosineDecayLR"]
