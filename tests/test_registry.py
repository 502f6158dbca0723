"""Ops, devices and kernels arrive through the pluggy hooks, found by entry points."""
from importlib import metadata

import numpy as np
import pytest

from hograd import ops
from hograd.core.errors import PluginError
from hograd.core.opdef import OpDef
from hograd.core.registry import registry

FOUNDATION_OPS = ["Square", "Exp", "Neg", "Mul", "MatMul", "Pow", "Log", "Div", "Sin", "Cos",
                  "Tan", "Sinh", "Cosh", "Atanh", "Add", "Sub", "RealDiv", "Tanh", "Sigmoid",
                  "ReLU", "Sqrt", "Reciprocal", "ReduceSum", "ReduceMean", "Reshape",
                  "Transpose", "ExpandDims", "BroadcastTo", "Cast", "ZerosLike", "OnesLike",
                  "Fill", "GetItem", "GetItemAdjoint", "Select", "Equal", "NotEqual", "Less",
                  "LessEqual", "Greater", "GreaterEqual", "Softmax", "StopGradient"]


def test_builtins_are_declared_as_entry_points():
    names = {e.name: e.value for e in metadata.entry_points(group="hograd.plugins")}
    assert names.get("builtin_ops") == "hograd.ops.library"
    assert names.get("cpu") == "hograd.devices.cpu"


def test_every_foundation_op_is_registered_by_the_builtin_plugin_with_a_cpu_kernel():
    reg = registry()
    for name in FOUNDATION_OPS:
        assert reg.op_provider[name] == "builtin_ops", name
        assert reg.kernel(name, "cpu") is not None


def test_the_cpu_device_comes_from_the_cpu_plugin():
    reg = registry()
    assert reg.device_provider["cpu"] == "cpu"
    assert reg.device("CPU").name == "cpu"
    assert {p.name: p.status for p in reg.plugins}["cpu"] == "loaded"


def test_op_classes_and_functions_come_from_the_registry():
    assert ops.Sin().opdef is registry().op("Sin")
    np.testing.assert_allclose(ops.sin(np.float64(0.5)).asnumpy(), np.sin(0.5))
    np.testing.assert_allclose(ops.reduce_sum(ops.Fill()("float64", (2, 3), 1.5),
                                              axis=1).asnumpy(), [4.5, 4.5])
    assert "Sin" in dir(ops) and "sin" in dir(ops)


def test_registering_an_op_name_twice_names_both_plugins():
    reg = registry()
    clash = OpDef(name="Sin", inputs=("x",), infer=lambda x: x, backward=(None,))
    with pytest.raises(PluginError, match="op 'Sin' from plugin 'intruder' is already registered "
                                          "by plugin 'builtin_ops'"):
        reg.add_op(clash, "intruder")


def test_op_definitions_need_one_backward_entry_per_input():
    with pytest.raises(ValueError, match="2 inputs but 1 backward rules"):
        OpDef(name="Broken", inputs=("x", "y"), infer=lambda x, y: x, backward=(None,))


def test_the_hook_reference_in_the_docs_is_current():
    import pathlib

    from hograd.core.hookspecs import reference_markdown
    text = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
    begin, end = "<!-- hook reference begins -->\n", "<!-- hook reference ends -->"
    committed = text[text.index(begin) + len(begin):text.index(end)]
    assert committed == reference_markdown(), (
        "docs/plugins.md's hook reference is stale; regenerate the part between the markers "
        "with `hograd plugins --hook-reference`")


def test_a_plugin_registering_something_invalid_is_left_out_whole(monkeypatch):
    import types

    from hograd.core import loader as plugin_loading
    from hograd.core import registry as registry_module
    from hograd.core.hookspecs import hookimpl
    from hograd.ops.families import unary

    half_valid = types.SimpleNamespace(hograd_ops=hookimpl(
        lambda: [unary("FineOp", None, doc="valid"), "not an OpDef"]))
    original = plugin_loading.make_plugin_manager

    def with_half_valid_plugin():
        manager, records = original()
        record = plugin_loading.PluginRecord("half_valid", "half_valid_module")
        records.append(record)
        plugin_loading.register(manager, record, lambda: half_valid)
        return manager, records

    monkeypatch.delenv("HOGRAD_STRICT_PLUGINS", raising=False)
    monkeypatch.setattr(registry_module, "make_plugin_manager", with_half_valid_plugin)
    with pytest.warns(RuntimeWarning, match="half_valid"):
        fresh = registry_module._build()
    assert "FineOp" not in fresh.ops and "Sin" in fresh.ops
    record = {r.name: r for r in fresh.plugins}["half_valid"]
    assert record.status == "failed" and "hograd_ops" in record.error


def test_an_ops_checks_come_with_its_record_and_a_second_spec_is_refused(scratch_registry):
    from hograd.extend import OpDef, checks, sample, spec, x
    scratch_registry.add_op(OpDef(name="Bare", inputs=("x",), infer=lambda x: x,
                                  backward=(None,)), "test")
    assert "Bare" not in scratch_registry.specs  # no record checks: reported unchecked
    scratch_registry.add_spec(spec("Bare", sample(x(2))), "checker-plugin")  # another's op
    assert scratch_registry.spec_provider["Bare"] == "checker-plugin"
    assert scratch_registry.specs["Sin"] == registry().op("Sin").checks  # from the record
    with pytest.raises(PluginError, match="'Sin' already has a check spec from plugin "
                                          "'builtin_ops'"):
        scratch_registry.add_spec(spec("Sin", sample(x(2))), "checker-plugin")
    assert registry().op("Sign").checks.reason.startswith("Sign is piecewise constant")
    assert checks(sample(x(2))).op is None


def test_core_needs_ops_by_role_and_a_plugin_cannot_take_a_role_silently(scratch_registry):
    from hograd.core.roles import ROLES
    from hograd.extend import OpDef
    assert set(registry().roles) == set(ROLES)  # the op library fills every role core names
    assert registry().role("add").name == "Add" and registry().role("fill").name == "Fill"
    rival = OpDef(name="OtherAdd", inputs=("x", "y"), infer=lambda x, y: x,
                  backward=(None, None), roles=("add",))
    with pytest.raises(PluginError, match="claims role 'add', which op 'Add' of plugin "
                                          "'builtin_ops' fills"):
        scratch_registry.add_op(rival, "rival")
    with pytest.raises(PluginError, match="unknown role 'modulo'"):
        scratch_registry.add_op(OpDef(name="Odd", inputs=("x",), infer=lambda x: x,
                                      backward=(None,), roles=("modulo",)), "rival")




def test_core_modules_name_no_library_op():
    import pathlib
    import re
    core = pathlib.Path(__file__).resolve().parents[1] / "hograd" / "core"
    library = {name for name, op in registry().ops.items()
               if registry().op_provider[name] != "hograd.core"}
    named = {(path.name, match) for path in core.glob("*.py")
             for match in re.findall(r'apply\("(\w+)"', path.read_text())
             if match in library}
    assert not named, f"core applies library ops by name: {sorted(named)}; use core/roles.py"


def test_an_uninstalled_source_tree_finds_hograds_own_plugins_in_its_pyproject(monkeypatch):
    from importlib import metadata

    from hograd.core import loader
    monkeypatch.setattr(metadata, "entry_points", lambda **_: [])  # no installed metadata
    _, records = loader.make_plugin_manager()
    assert [r.name for r in records][:2] == ["builtin_ops", "cpu"]
    assert {r.name: r.module for r in records}["cpu"] == "hograd.devices.cpu"
