"""hograd: higher-order automatic differentiation with a MindSpore-style API.

>>> import hograd.ops as ops
>>> from hograd import Tensor
>>> d2 = ops.GradOperation()(ops.GradOperation()(ops.sin))
>>> d2(Tensor([1.0]))                       # -sin(1)
"""
from . import dtype
from .tensor import Parameter, ParameterTuple, Tensor
from . import context, nn, ops  # noqa: E402

__version__ = "0.1.0"
__all__ = ["Tensor", "Parameter", "ParameterTuple", "dtype", "context", "nn", "ops"]
