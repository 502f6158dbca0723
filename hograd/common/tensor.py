"""``hograd.common.tensor``: MindSpore's path to ``Tensor`` (defined in ``hograd.tensor``)."""
from ..core.tensor import Tensor

__all__ = ["Tensor"]
