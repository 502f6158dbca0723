"""``hograd.common.parameter``: MindSpore's path to ``Parameter`` and ``ParameterTuple``
(defined in ``hograd.core.tensor``)."""
from ..core.tensor import Parameter, ParameterTuple

__all__ = ["Parameter", "ParameterTuple"]
