"""Review tests (review3): the CPU fuser's disk cache of compiled groups. The first three fail
on main at 9b7a87b: a group whose cached module was imported earlier could not be compiled
again once its file was gone, a second thread could get a module still being imported, and an
installation without sources could not compile any group. The last: a cache file that is not
its source is written again, not imported."""
import ast
import shutil
import threading
import time

import numpy as np
import pytest

from hograd import dtype as mstype
from hograd.core.fusion import FusedExpression
from hograd.core.ir import AbstractValue
from hograd.devices.cpu import fusion as cpu_fusion

pytest.importorskip("numba")


def expression(text, size=64, dtype=mstype.float64):
    aval = AbstractValue((size,), dtype)
    return FusedExpression(ast.parse(text, mode="eval").body, (aval,), aval, 2)


def test_a_cache_directory_cleared_while_the_process_runs_is_written_again(tmp_path,
                                                                            monkeypatch):
    # the module imported from the first directory stayed in sys.modules; once its file was
    # removed, numba raised "RuntimeError: cannot cache function 'fused': no locator available"
    # and (through the executor) the whole graph ran unfused
    monkeypatch.setenv("HOGRAD_CACHE_DIR", str(tmp_path / "cache"))
    group = expression("in0 * 3.8125 - 0.4375")
    x = np.linspace(-2, 2, 64)
    np.testing.assert_array_equal(cpu_fusion.numba_compiler(group)(x), x * 3.8125 - 0.4375)
    shutil.rmtree(tmp_path / "cache")      # the user clears ~/.cache/hograd
    np.testing.assert_array_equal(cpu_fusion.numba_compiler(group)(x), x * 3.8125 - 0.4375)
    assert list((tmp_path / "cache" / "fused").glob("hograd_fused_*.py"))


def test_a_group_compiled_by_two_threads_at_once_is_the_group_in_both(tmp_path, monkeypatch):
    # the first thread put the module in sys.modules before running it; the second took it from
    # there and failed on `module.fused` (AttributeError: the fusion thread then runs its graph
    # unfused). The preamble's call to _compiled_math is slowed to widen the window.
    monkeypatch.setenv("HOGRAD_CACHE_DIR", str(tmp_path))
    real = cpu_fusion._compiled_math
    importing = threading.Event()

    def slow_compiled_math():
        importing.set()
        time.sleep(0.5)
        return real()

    monkeypatch.setattr(cpu_fusion, "_compiled_math", slow_compiled_math)
    group = expression("tanh(in0) * 1.9375 + 0.0625")
    x = np.linspace(-3, 3, 64)
    expected = np.tanh(x) * 1.9375 + 0.0625
    results = {}

    def compile_and_run(label):
        try:
            results[label] = cpu_fusion.numba_compiler(group)(x)
        except Exception as err:   # noqa: BLE001 (the assertion below names it)
            results[label] = err

    first = threading.Thread(target=compile_and_run, args=("first",))
    first.start()
    assert importing.wait(30)
    compile_and_run("second")
    first.join(60)
    for label in ("first", "second"):
        assert isinstance(results[label], np.ndarray), (label, results[label])
        np.testing.assert_allclose(results[label], expected, rtol=1e-15, atol=1e-15)


def test_an_installation_without_sources_compiles_groups_in_memory(tmp_path, monkeypatch):
    # the cache key hashes fused_math's source; without it (a .pyc-only install) inspect raised
    # OSError out of numba_compiler instead of compiling the group without the cache
    monkeypatch.setenv("HOGRAD_CACHE_DIR", str(tmp_path))
    cpu_fusion._fused_math_source.cache_clear()

    def no_source(obj):
        raise OSError("could not get source code")

    monkeypatch.setattr(cpu_fusion.inspect, "getsource", no_source)
    try:
        group = expression("in0 * 2.6875 + 1.0", dtype=mstype.float32)
        x = np.linspace(-1, 1, 64, dtype=np.float32)
        np.testing.assert_array_equal(cpu_fusion.numba_compiler(group)(x),
                                      x * np.float32(2.6875) + np.float32(1.0))
    finally:
        monkeypatch.undo()
        cpu_fusion._fused_math_source.cache_clear()


def test_a_cache_file_that_is_not_its_source_is_written_again(tmp_path, monkeypatch):
    # a file left half-written (a full disk) or changed by hand: importing it raised
    # SyntaxError, or ran its code
    monkeypatch.setenv("HOGRAD_CACHE_DIR", str(tmp_path))
    group = expression("in0 * 2.5 + 0.125")
    x = np.linspace(-1, 1, 64)
    cpu_fusion.numba_compiler(group)(x)
    (cached,) = (tmp_path / "fused").glob("hograd_fused_*.py")
    for damage in ("def fused(in0, out:\n", "def fused(in0, out):\n    out[:] = 7.0\n"):
        cached.write_text(damage)
        import sys
        sys.modules.pop(cached.stem, None)   # as a new process finds it
        np.testing.assert_array_equal(cpu_fusion.numba_compiler(group)(x), x * 2.5 + 0.125)
    assert not list((tmp_path / "fused").glob(".hograd_fused_*"))   # no partial file left
