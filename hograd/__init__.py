"""hograd: higher-order automatic differentiation with a MindSpore-style API.

>>> import hograd.ops as ops
>>> from hograd import Tensor
>>> d2 = ops.GradOperation()(ops.GradOperation()(ops.sin))
>>> d2(Tensor([1.0]))                       # -sin(1)

MindSpore's module layout is mirrored (``hograd.ops.operations``, ``hograd.ops.composite``,
``hograd.ops.functional``, ``hograd.common``, ...); see docs/api.md for the table.
"""
from . import dtype
from .dtype import bool_, float16, float32, float64, int32, int64
from .core.tensor import Parameter, ParameterTuple, Tensor
from . import context, nn, ops  # noqa: E402
from . import common  # noqa: E402
from .common.api import jit  # noqa: E402
from .common.initializer import set_seed  # noqa: E402
from .common.mutable import mutable  # noqa: E402
from .taylor_api import derivative, jet, laplacian  # noqa: E402
from .context import GRAPH_MODE, PYNATIVE_MODE, get_context, set_context  # noqa: E402
# MindSpore 2.x's functional transforms, at the top level as there (also under hograd.ops)
from .core.functional import (grad, hessian, hvp, jacfwd, jacrev, jvp,  # noqa: E402
                              value_and_grad, vjp)
from .core.vmap import vmap  # noqa: E402
from .serialization import load_checkpoint, load_param_into_net, save_checkpoint  # noqa: E402

__version__ = "0.1.0"
__all__ = ["Tensor", "Parameter", "ParameterTuple", "dtype", "context", "nn", "ops", "common",
           "jit", "mutable", "jet", "derivative", "laplacian", "set_seed", "set_context",
           "get_context", "GRAPH_MODE", "PYNATIVE_MODE", "grad", "value_and_grad", "jvp", "vjp",
           "jacfwd", "jacrev", "hessian", "hvp", "vmap", "float16", "float32", "float64", "int32",
           "int64", "bool_", "save_checkpoint", "load_checkpoint", "load_param_into_net"]
