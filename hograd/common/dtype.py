"""``hograd.common.dtype``: MindSpore's path to the dtypes (``import hograd.common.dtype as
mstype``). The dtypes themselves are defined once, in ``hograd.dtype``."""
from ..dtype import *  # noqa: F401,F403
from ..dtype import __all__  # noqa: F401
