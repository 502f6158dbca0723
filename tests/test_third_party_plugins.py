"""Third-party plugins, installed with pip into a temporary virtual environment."""
import json
import os
import pathlib
import subprocess
import sys
import sysconfig
import types

import pytest

import hograd
from hograd.core import loader as plugins
from hograd.core.errors import PluginError

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples" / "plugins"
HOGRAD_ROOT = pathlib.Path(hograd.__file__).resolve().parents[1]


def make_venv(root: pathlib.Path) -> pathlib.Path:
    """A new virtual environment that sees this environment's packages (hograd and its
    dependencies) through a .pth file, so that only the plugin is installed into it."""
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    python = root / "bin" / "python"
    site = subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True).strip()
    outer = [str(HOGRAD_ROOT), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    (pathlib.Path(site) / "outer_environment.pth").write_text("\n".join(dict.fromkeys(outer)))
    return python


def pip_install(python: pathlib.Path, package: pathlib.Path) -> None:
    result = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q",
                             str(package)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def run(python: pathlib.Path, *args: str, strict: bool = True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOGRAD_")}
    if strict:
        env["HOGRAD_STRICT_PLUGINS"] = "1"
    return subprocess.run([str(python), *args], capture_output=True, text=True, timeout=600,
                          env=env, cwd=str(python.parents[1]))


@pytest.fixture(scope="module")
def cube_venv(tmp_path_factory):
    python = make_venv(tmp_path_factory.mktemp("cube-venv"))
    pip_install(python, EXAMPLES / "hograd-cube")
    return python


def test_an_installed_op_plugin_differentiates_to_third_order(cube_venv):
    script = ("import numpy as np, hograd.ops as ops; from hograd import Tensor;"
              "G = ops.GradOperation; x = Tensor(np.array([2.0, -1.5]));"
              "print([G()(f)(x).asnumpy().tolist() for f in (ops.cube, G()(ops.cube), "
              "G()(G()(ops.cube)))])")
    result = run(cube_venv, "-c", script)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [[12.0, 6.75], [12.0, -9.0], [6.0, 6.0]]


def test_an_installed_op_plugin_appears_in_the_capabilities_with_its_provider(cube_venv):
    result = run(cube_venv, "-m", "hograd", "capabilities", "--ops", "Cube", "--device", "cpu",
                 "--format", "json")
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)["ops"][0]
    assert (row["op"], row["provider"]) == ("Cube", "cube")
    assert (row["cells"]["cpu"]["status"], row["cells"]["cpu"]["verified_order"]) == ("verified", 4)
    listing = run(cube_venv, "-m", "hograd", "plugins")
    assert "cube (hograd_cube, hograd-cube 1.0.0): loaded" in listing.stdout
    assert "hooks: hograd_kernels, hograd_ops" in listing.stdout


def test_a_plugin_can_be_disabled_by_name(cube_venv):
    env_script = "import hograd.ops as ops; print('cube' in dir(ops))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOGRAD_")}
    env["HOGRAD_DISABLE_PLUGINS"] = "cube,cpu"
    result = subprocess.run([str(cube_venv), "-c", env_script], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.stdout.strip() == "False"        # cube is off; cpu is built in and stays
    listing = subprocess.run([str(cube_venv), "-m", "hograd", "plugins"], capture_output=True,
                             text=True, env=env, timeout=300).stdout
    assert "cube (hograd_cube, hograd-cube 1.0.0): disabled" in listing
    assert "cpu (hograd.devices.cpu, hograd 0.1.0): loaded" in listing


def test_a_broken_plugin_does_not_break_import_and_is_reported(tmp_path):
    python = make_venv(tmp_path / "broken-venv")
    pip_install(python, EXAMPLES / "hograd-broken")
    result = run(python, "-c", "import hograd, numpy as np; from hograd import Tensor, ops;"
                              "print(ops.GradOperation()(ops.sin)(Tensor(np.array([0.0]))))",
                 strict=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[1.]"
    assert "hograd plugin 'broken' (hograd_broken) failed" in result.stderr
    listing = run(python, "-m", "hograd", "plugins", strict=False)
    assert listing.returncode == 0
    assert "broken (hograd_broken, hograd-broken 0.0.1): failed" in listing.stdout
    assert "ModuleNotFoundError: No module named 'a_dependency_that_is_not_installed'" in \
        listing.stdout
    strict = run(python, "-c", "import hograd.ops as ops; ops.sin", strict=True)
    assert strict.returncode != 0 and "PluginError" in strict.stderr


def test_a_misspelled_hook_is_caught_and_the_plugin_left_out(monkeypatch):
    import pluggy

    from hograd.core import hookspecs
    monkeypatch.delenv("HOGRAD_STRICT_PLUGINS", raising=False)
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    misspelled = types.SimpleNamespace(hograd_kernals=hookspecs.hookimpl(lambda: []))
    record = plugins.PluginRecord("typo", "typo_module")
    with pytest.warns(RuntimeWarning, match="unknown hook 'hograd_kernals'"):
        plugins.register(manager, record, lambda: misspelled)
    assert record.status == "failed" and manager.get_plugin("typo") is None
    monkeypatch.setenv("HOGRAD_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="hograd_kernals"):
        plugins.register(manager, plugins.PluginRecord("typo2", "typo_module"),
                         lambda: types.SimpleNamespace(
                             hograd_kernals=hookspecs.hookimpl(lambda: [])))
