import atexit
import os
import shutil
import tempfile

# the suite runs with strict plugin loading: a plugin that fails raises instead of warning
os.environ.setdefault("HOGRAD_STRICT_PLUGINS", "1")
# compiled fused groups go to a cache of the suite's own, not the user's
if "HOGRAD_CACHE_DIR" not in os.environ:
    os.environ["HOGRAD_CACHE_DIR"] = tempfile.mkdtemp(prefix="hograd-test-cache-")
    atexit.register(shutil.rmtree, os.environ["HOGRAD_CACHE_DIR"], ignore_errors=True)

import numpy as np
import pytest

from hograd import context


@pytest.fixture(params=["graph", "pynative"])
def mode(request):
    """Run a test in GRAPH_MODE and in PYNATIVE_MODE."""
    previous = context.get_context("mode")
    context.set_context(mode=context.GRAPH_MODE if request.param == "graph"
                        else context.PYNATIVE_MODE)
    yield request.param
    context.set_context(mode=previous)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def scratch_registry(monkeypatch):
    """A copy of the registry that a test may add ops, devices and kernels to."""
    from hograd.core import registry as registry_module
    scratch = registry_module.registry().copy()
    monkeypatch.setattr(registry_module, "_registry", scratch)
    yield scratch


@pytest.fixture(autouse=True)
def restore_context():
    """Every test leaves the mode and device as it found them."""
    saved = {key: context.get_context(key) for key in ("mode", "device_target")}
    yield
    context.set_context(**saved)
