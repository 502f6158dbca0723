"""``hograd.common``: MindSpore's ``mindspore.common`` paths, re-exporting hograd's own names.

>>> from hograd.common import Tensor, Parameter, ParameterTuple
>>> import hograd.common.dtype as mstype
>>> from hograd.common.initializer import initializer
"""
from . import dtype, initializer, parameter, tensor
from .initializer import set_seed
from .parameter import Parameter, ParameterTuple
from .tensor import Tensor

__all__ = ["Tensor", "Parameter", "ParameterTuple", "dtype", "initializer", "set_seed"]
