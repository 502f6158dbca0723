"""``hograd.common.tensor``: MindSpore's path to ``Tensor`` (defined in ``hograd.core.tensor``)."""
from ..core.tensor import Tensor

__all__ = ["Tensor"]
