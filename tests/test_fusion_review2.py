"""Review tests (review2): numba groups mixing float32 and float64 values; operators outside the
fusion language. Both fail on main at e84fa90."""
import numpy as np
import pytest

from hograd import Tensor, jit, ops
from hograd import dtype as mstype
from hograd.core.executor import wait_for_fusions
from hograd.core.fusion import parse

numba = pytest.importorskip("numba")


def test_a_float64_group_reading_a_float32_leaf_keeps_float64_literals():
    # the group: where(a32 > 0.3, x64 + Fill(1/3), x64); its Fill was rendered np.float32(1/3)
    n = 4096
    rng = np.random.default_rng(0)
    a32 = rng.standard_normal((4, n)).astype(np.float32)
    x = rng.standard_normal((4, n))
    f = jit(lambda a, x: ops.select(a > 0.3, x + ops.fill(mstype.float64, (4, n), 1 / 3), x))
    expected = np.where(a32 > np.float32(0.3), x + 1 / 3, x)
    for call in range(4):
        np.testing.assert_array_equal(f(Tensor(a32), Tensor(x)).asnumpy(), expected)
        if call == 1:
            wait_for_fusions()


@pytest.mark.parametrize("template", ["x % y", "x // y", "x < y < 1", "x is y"])
def test_operators_outside_the_language_are_refused(template):
    # parse() accepted them; the CPU's loop renderer then failed (KeyError/ValueError) and the
    # whole graph ran unfused, with a warning from the fusion thread
    with pytest.raises(ValueError):
        parse(template)
