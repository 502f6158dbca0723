"""The exceptions hograd raises, so that callers can tell a user mistake from a missing capability."""
from __future__ import annotations


class HogradError(Exception):
    """Base class of hograd's own errors."""


class OpInputError(HogradError, ValueError):
    """An op was given inputs it cannot take: wrong shape, dtype, rank or attribute."""


class OpDtypeError(OpInputError, TypeError):
    """An op was given inputs whose dtypes it cannot combine."""


class UnknownOpError(HogradError, AttributeError):
    """No op of that name is registered."""


class UnknownDeviceError(HogradError, ValueError):
    """A device target no plugin declares."""


class DeviceAbsentError(HogradError, RuntimeError):
    """A declared device that is not usable on this machine."""


class MissingKernelError(HogradError, NotImplementedError):
    """An op has no kernel on the selected device."""


class KernelContractError(HogradError, RuntimeError):
    """A kernel returned an array whose dtype or shape is not what its op's shape rule says."""


class NotDifferentiableError(HogradError, ValueError):
    """A gradient was needed through an input its op declares not differentiable."""


class GradArgumentError(HogradError, ValueError):
    """GradOperation was configured or called with arguments that do not fit."""


class TracingError(HogradError, RuntimeError):
    """User code did something that cannot be traced into a graph."""


class ForwardRuleMissing(TracingError):
    """An op on the path of a forward-mode derivative has no forward (JVP) rule."""


class ConcreteReadError(TracingError):
    """A tensor a derivative flows through was read as a Python number or numpy array."""


class GraphValidationError(HogradError, ValueError):
    """A graph breaks an IR invariant (use before definition, wrong abstract value, …)."""


class GuardFailure(Exception):
    """A compiled graph met a value on which its trace took a different branch; retrace.

    Internal control flow, never shown to users.
    """


class PluginError(HogradError, RuntimeError):
    """A plugin could not be loaded or registered something invalid."""


class BatchingError(HogradError, ValueError):
    """vmap was given axes that do not fit, or met what it cannot batch (a branch whose
    decision differs between batch elements, a write of a batched value to a Parameter)."""
