"""Compiled graphs depend on the Cells their traces read, and on nothing else."""
import numpy as np

from hograd import Tensor, context, nn, ops
from hograd.capabilities.report import build_report
from hograd.core.registry import registry

Grad = ops.GradOperation


class Scale(nn.Cell):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def construct(self, x):
        return x * self.factor


class Shifted(nn.Cell):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def construct(self, x):
        return self.inner(x) + 1.0


def f64(*values):
    return Tensor(np.array(values, dtype=np.float64))


def test_changing_a_sub_cell_retraces_the_graphs_that_read_it():
    context.set_context(mode=context.GRAPH_MODE)
    inner = Scale(2.0)
    outer = Shifted(inner)
    grad = Grad()(outer)
    np.testing.assert_allclose([outer(f64(1.0)).asnumpy(), grad(f64(1.0)).asnumpy()],
                               [[3.0], [2.0]])
    inner.factor = 5.0
    np.testing.assert_allclose([outer(f64(1.0)).asnumpy(), grad(f64(1.0)).asnumpy()],
                               [[6.0], [5.0]])


def test_unrelated_cells_leave_compiled_graphs_alone():
    context.set_context(mode=context.GRAPH_MODE)
    net = Scale(3.0)
    grad = Grad()(net)
    grad(f64(1.0))
    cache = grad.op._cache_for(net, ())
    (variant,) = cache.variants(next(iter(cache._variants)))
    for factor in range(5):  # new cells, and changes to them, touch no other cell's graph
        Scale(float(factor)).factor = 7.0
    grad(f64(2.0))
    assert cache.variants(next(iter(cache._variants))) == [variant]


def test_set_train_retraces_the_cells_it_switches():
    class Dropoutish(nn.Cell):
        def construct(self, x):
            return x * (0.5 if self.training else 1.0)

    context.set_context(mode=context.GRAPH_MODE)
    net = Dropoutish()
    np.testing.assert_allclose(net(f64(2.0)).asnumpy(), [2.0])
    net.set_train(True)
    np.testing.assert_allclose(net(f64(2.0)).asnumpy(), [1.0])


def test_the_capability_checks_leave_the_global_device_alone(scratch_registry):
    from hograd.core.device import DeviceSpec, KernelSpec
    numpy_twin = DeviceSpec(name="twin")
    scratch_registry.add_device(numpy_twin, "test")
    for (op, device), kernel in list(registry().kernels.items()):
        if device == "cpu":
            scratch_registry.add_kernel(KernelSpec(op=op, device="twin", fn=kernel), "test")
    before = context.get_context("device_target")
    report = build_report(scratch_registry, devices=["twin"], ops=["Sin"], max_order=2)
    assert report.ops[0].cells["twin"].verified_order == 2
    assert context.get_context("device_target") == before
    assert Tensor([1.0]).device == "cpu"


def test_a_device_scope_is_local_to_its_block():
    with context.device_scope("cpu"):
        assert Tensor([1.0]).device == "cpu"
    assert context.get_context("device_target") == "CPU"


class Holder(nn.Cell):
    def __init__(self, scale):
        super().__init__()
        self.scale = scale


def test_an_attribute_read_without_calling_its_cell_retraces_when_it_changes():
    context.set_context(mode=context.GRAPH_MODE)

    class ReadsThrough(nn.Cell):  # reads a sub-cell's attribute without calling the sub-cell
        def __init__(self):
            super().__init__()
            self.inner = Holder(1.0)

        def construct(self, x):
            return x * self.inner.scale

    net = ReadsThrough()
    np.testing.assert_allclose(net(f64(2.0)).asnumpy(), [2.0])
    net.inner.scale = 3.0
    np.testing.assert_allclose(net(f64(2.0)).asnumpy(), [6.0])


def test_a_cell_read_from_a_closure_retraces_gradients_and_jit_functions():
    import hograd
    context.set_context(mode=context.GRAPH_MODE)
    held = Holder(1.0)
    grad = Grad()(lambda x: x * x * held.scale)
    np.testing.assert_allclose(grad(f64(2.0)).asnumpy(), [4.0])
    held.scale = 3.0
    np.testing.assert_allclose(grad(f64(2.0)).asnumpy(), [12.0])

    other = Holder(1.0)

    @hograd.jit
    def scaled(x):
        return x * other.scale

    np.testing.assert_allclose(scaled(f64(2.0)).asnumpy(), [2.0])
    other.scale = 5.0
    np.testing.assert_allclose(scaled(f64(2.0)).asnumpy(), [10.0])


def test_a_stamp_holds_across_changes_to_others_and_fails_on_its_own_or_a_death():
    # stamps are checked in O(1) while nothing versioned has changed; any change anywhere makes
    # the next check look at its own objects
    import gc

    from hograd.core.cache import _Stamp
    watched, other = Scale(1.0), Scale(2.0)
    stamp = _Stamp([watched])
    assert stamp.holds() and stamp.holds()
    other.factor = 3.0           # moves the epoch; the stamp's own object is unchanged
    assert stamp.holds()
    watched.factor = 4.0
    assert not stamp.holds() and not stamp.holds()
    mortal = Scale(5.0)
    doomed = _Stamp([mortal])
    assert doomed.holds()
    del mortal
    gc.collect()
    assert not doomed.holds()    # its object died: the graph may have baked in a stale one
