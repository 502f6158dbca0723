"""Optimizers, MindSpore's names, signatures and update rules: ``SGD``, ``Momentum``, ``Adam``,
``AdamWeightDecay``.

An optimizer is a Cell: ``optimizer(grads)`` takes one gradient per Parameter of
``optimizer.parameters`` (a ParameterTuple, in that order) and writes the updated values with
``ops.assign``. Its state (moments, step counts, the learning rate) is Parameters too, named as
in MindSpore (``moment1.dense.weight``, ``global_step``), so checkpoints hold it. In
``GRAPH_MODE`` the update of all parameters is one compiled graph, traced once; inside another
trace (``TrainOneStepCell``) it becomes part of that graph.

``learning_rate`` is a number, a list or 1-D Tensor of one rate per step (the last one is kept
after the list ends), or a schedule: a ``LearningRateSchedule`` Cell or any callable mapping
the int32 ``global_step`` tensor to a rate with ops.

>>> optimizer = nn.Adam(net.trainable_params(), learning_rate=1e-3)
>>> loss, grads = forward_and_grads(x, y)      # gradients in optimizer.parameters' order
>>> optimizer(grads)
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .. import dtype as dt
from .. import ops
from ..core.tensor import Parameter, ParameterTuple, Tensor
from .cell import Cell


def _decays(param: Parameter) -> bool:
    # MindSpore's default decay filter: no weight decay on LayerNorm/BatchNorm's beta and gamma
    name = param.name or ""
    return "beta" not in name and "gamma" not in name


class Optimizer(Cell):
    """Base of the optimizers: parameters, learning rate, weight decay and state Parameters.

    Subclasses define ``construct(gradients)`` with ``self.get_lr()``,
    ``self.decay_weight(gradients)`` and ``ops.assign``.
    """

    def __init__(self, learning_rate: Any, parameters: Iterable[Parameter],
                 weight_decay: float = 0.0, loss_scale: float = 1.0) -> None:
        super().__init__(auto_prefix=False)
        params = list(parameters)
        if not params:
            raise ValueError(f"{type(self).__name__}: parameters is empty; pass "
                             f"net.trainable_params()")
        for index, param in enumerate(params):
            if isinstance(param, dict):
                raise TypeError(f"{type(self).__name__}: parameter groups (dicts) are not "
                                f"supported; pass a list of Parameters and one learning rate")
            if not isinstance(param, Parameter):
                raise TypeError(f"{type(self).__name__}: parameters[{index}] is a "
                                f"{type(param).__name__}, not a Parameter")
        if weight_decay < 0 or loss_scale <= 0:
            raise ValueError(f"{type(self).__name__}: weight_decay must be ≥ 0 and loss_scale "
                             f"> 0, got {weight_decay} and {loss_scale}")
        object.__setattr__(self, "parameters", ParameterTuple(params))
        self.weight_decay, self.loss_scale = float(weight_decay), float(loss_scale)
        self._state_names: set[str] = set()
        self.global_step = self._state("global_step", np.zeros((1,), np.int32))
        self._set_learning_rate(learning_rate)

    # ---- state ----------------------------------------------------------------------------------
    def _state(self, name: str, value: Any) -> Parameter:
        """A Parameter of optimizer state, registered under ``name`` (checkpoints hold it)."""
        if name in self._state_names:
            raise ValueError(f"{type(self).__name__}: two state parameters are named {name!r}; "
                             f"give the network's Parameters distinct names")
        self._state_names.add(name)
        param = Parameter(Tensor(value), name=name, requires_grad=False)
        self._params[name] = param
        return param

    def clone_state(self, prefix: str, init: str = "zeros") -> ParameterTuple:
        """One state Parameter per parameter, named ``prefix.<parameter name>``."""
        fill = np.zeros if init == "zeros" else np.ones
        return ParameterTuple(
            self._state(f"{prefix}.{p.name or index}", fill(p.shape, dtype=p.dtype.numpy))
            for index, p in enumerate(self.parameters))

    def _set_learning_rate(self, learning_rate: Any) -> None:
        self.dynamic_lr = False
        self.schedule = None
        if isinstance(learning_rate, Cell) or (callable(learning_rate)
                                               and not isinstance(learning_rate, Tensor)):
            self.schedule = learning_rate
            return
        if isinstance(learning_rate, Tensor):
            learning_rate = learning_rate.asnumpy()
        try:
            rates = np.asarray(learning_rate, dtype=np.float32)
        except (TypeError, ValueError):
            raise ValueError(f"{type(self).__name__}: learning_rate must be a number, a list or "
                             f"1-D Tensor of per-step rates, or a schedule (a callable of the "
                             f"step), got {learning_rate!r}") from None
        if rates.ndim > 1 or rates.size == 0 or np.any(rates < 0):
            raise ValueError(f"{type(self).__name__}: learning_rate must be a non-negative "
                             f"number, a list of them (one per step) or a schedule; got "
                             f"{learning_rate!r}")
        self.dynamic_lr = rates.ndim == 1
        self.learning_rate = self._state("learning_rate", rates)

    def get_lr(self):
        """The learning rate of this step (a float32 tensor); advances ``global_step``."""
        step = self.global_step
        if self.schedule is not None:
            rate = ops.cast(self.schedule(step), dt.float32).reshape(())
        elif self.dynamic_lr:
            last = self.learning_rate.shape[0] - 1
            index = ops.minimum(step, Tensor(np.array([last], np.int32)))
            rate = ops.gather(self.learning_rate, index, axis=0).reshape(())
        else:
            rate = self.learning_rate * 1.0
        ops.assign(self.global_step, step + 1)
        return rate

    def scale_and_decay(self, gradients) -> tuple:
        """Gradients divided by ``loss_scale``, plus ``weight_decay·param`` (L2, as MindSpore's
        SGD, Momentum and Adam apply it)."""
        gradients = self._checked(gradients)
        out = []
        for param, grad in zip(self.parameters, gradients):
            if self.loss_scale != 1.0:
                grad = grad / self.loss_scale
            if self.weight_decay and _decays(param):
                grad = grad + param * self.weight_decay
            out.append(grad)
        return tuple(out)

    def _checked(self, gradients) -> tuple:
        if isinstance(gradients, Tensor):
            gradients = (gradients,)
        gradients = tuple(gradients)
        if len(gradients) != len(self.parameters):
            raise ValueError(f"{type(self).__name__}: got {len(gradients)} gradients for "
                             f"{len(self.parameters)} parameters; pass one per Parameter of "
                             f"optimizer.parameters, in that order")
        for param, grad in zip(self.parameters, gradients):
            if tuple(grad.shape) != param.shape:
                raise ValueError(f"{type(self).__name__}: the gradient for {param.name!r} has "
                                 f"shape {tuple(grad.shape)}, the parameter {param.shape}")
        return gradients


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (MindSpore's rule: the first
    step's accumulator is the gradient itself, later ones ``momentum·accum +
    (1 - dampening)·grad``; Nesterov steps by ``grad + momentum·accum``)."""

    def __init__(self, params, learning_rate: Any = 0.1, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 loss_scale: float = 1.0) -> None:
        super().__init__(learning_rate, params, weight_decay, loss_scale)
        if momentum < 0 or (nesterov and (momentum <= 0 or dampening != 0)):
            raise ValueError("SGD: momentum must be ≥ 0; Nesterov needs momentum > 0 and no "
                             "dampening")
        self.momentum, self.dampening, self.nesterov = float(momentum), float(dampening), nesterov
        if self.momentum:
            self.accum = self.clone_state("accum")
            self.stat = self.clone_state("stat", init="ones")

    def construct(self, gradients):
        lr = self.get_lr()
        gradients = self.scale_and_decay(gradients)
        updated = []
        for index, (param, grad) in enumerate(zip(self.parameters, gradients)):
            step = grad
            if self.momentum:
                accum, first = self.accum[index], self.stat[index]
                new_accum = ops.select(first > 0.5, grad,
                                       accum * self.momentum + grad * (1.0 - self.dampening))
                ops.assign(accum, new_accum)
                ops.assign(first, ops.zeros_like(first))
                step = grad + new_accum * self.momentum if self.nesterov else new_accum
            updated.append(ops.assign(param, param - step * lr))
        return tuple(updated)


class Momentum(Optimizer):
    """``accum = momentum·accum + grad``; ``param -= lr·accum`` (Nesterov:
    ``param -= lr·(grad + momentum·accum)``), MindSpore's ApplyMomentum."""

    def __init__(self, params, learning_rate: Any, momentum: float, weight_decay: float = 0.0,
                 loss_scale: float = 1.0, use_nesterov: bool = False) -> None:
        super().__init__(learning_rate, params, weight_decay, loss_scale)
        if momentum < 0:
            raise ValueError(f"Momentum: momentum must be ≥ 0, got {momentum}")
        self.momentum, self.use_nesterov = float(momentum), bool(use_nesterov)
        self.moments = self.clone_state("moments")

    def construct(self, gradients):
        lr = self.get_lr()
        gradients = self.scale_and_decay(gradients)
        updated = []
        for param, moment, grad in zip(self.parameters, self.moments, gradients):
            accum = ops.assign(moment, moment * self.momentum + grad)
            step = grad + accum * self.momentum if self.use_nesterov else accum
            updated.append(ops.assign(param, param - step * lr))
        return tuple(updated)


class Adam(Optimizer):
    """Adam as MindSpore applies it: ``m, v`` moving averages of ``grad`` and ``grad²``,
    ``param -= lr·√(1 - β₂ᵗ)/(1 - β₁ᵗ) · m / (√v + eps)``; ``weight_decay`` adds
    ``weight_decay·param`` to the gradient."""

    def __init__(self, params, learning_rate: Any = 1e-3, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8, use_locking: bool = False,
                 use_nesterov: bool = False, weight_decay: float = 0.0,
                 loss_scale: float = 1.0, use_amsgrad: bool = False) -> None:
        super().__init__(learning_rate, params, weight_decay, loss_scale)
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1 and eps > 0):
            raise ValueError(f"Adam: need 0 ≤ beta1, beta2 < 1 and eps > 0, got {beta1}, "
                             f"{beta2}, {eps}")
        if use_amsgrad or use_nesterov:
            raise NotImplementedError("Adam: use_amsgrad and use_nesterov are not supported")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.beta1_power = self._state("beta1_power", np.ones((1,), np.float32))
        self.beta2_power = self._state("beta2_power", np.ones((1,), np.float32))
        self.moment1 = self.clone_state("moment1")
        self.moment2 = self.clone_state("moment2")

    def construct(self, gradients):
        lr = self.get_lr()
        gradients = self.scale_and_decay(gradients)
        beta1_power = ops.assign(self.beta1_power, self.beta1_power * self.beta1)
        beta2_power = ops.assign(self.beta2_power, self.beta2_power * self.beta2)
        corrected_lr = (lr * ops.sqrt(1.0 - beta2_power) / (1.0 - beta1_power)).reshape(())
        updated = []
        for param, m, v, grad in zip(self.parameters, self.moment1, self.moment2, gradients):
            new_m = ops.assign(m, m * self.beta1 + grad * (1.0 - self.beta1))
            new_v = ops.assign(v, v * self.beta2 + grad * grad * (1.0 - self.beta2))
            step = new_m / (ops.sqrt(new_v) + self.eps)
            updated.append(ops.assign(param, param - step * corrected_lr))
        return tuple(updated)


class AdamWeightDecay(Optimizer):
    """Adam with decoupled weight decay, MindSpore's (BERT's) rule: no bias correction,
    ``update = m / (√v + eps) + weight_decay·param``, ``param -= lr·update``."""

    def __init__(self, params, learning_rate: Any = 1e-3, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-6, weight_decay: float = 0.0) -> None:
        super().__init__(learning_rate, params, 0.0, 1.0)
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1 and eps > 0 and weight_decay >= 0):
            raise ValueError("AdamWeightDecay: need 0 ≤ beta1, beta2 < 1, eps > 0 and "
                             "weight_decay ≥ 0")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.decoupled_decay = float(weight_decay)
        self.moment1 = self.clone_state("adam_m")
        self.moment2 = self.clone_state("adam_v")

    def construct(self, gradients):
        lr = self.get_lr()
        gradients = self._checked(gradients)
        updated = []
        for param, m, v, grad in zip(self.parameters, self.moment1, self.moment2, gradients):
            new_m = ops.assign(m, m * self.beta1 + grad * (1.0 - self.beta1))
            new_v = ops.assign(v, v * self.beta2 + grad * grad * (1.0 - self.beta2))
            update = new_m / (ops.sqrt(new_v) + self.eps)
            if self.decoupled_decay and _decays(param):
                update = update + param * self.decoupled_decay
            updated.append(ops.assign(param, param - update * lr))
        return tuple(updated)
