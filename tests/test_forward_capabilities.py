"""Forward mode in the capability matrix: every op checked by nested jvp, claims both ways."""
import numpy as np

from hograd.capabilities.checker import check_cell
from hograd.extend import checks, sample, x
from hograd.core.device import KernelSpec
from hograd.core.opdef import OpDef
from hograd.ops.call import F
from hograd.ops.families import same_as_input


def _register_sin(reg, forward, **claims):
    """'PlantedSin': sin with a correct backward rule and the given forward rule."""
    reg.add_op(OpDef(name="PlantedSin", inputs=("x",), infer=same_as_input, promotion="float",
                     backward=(lambda g, out, x: g * F.cos(x),), forward=forward,
                     doc="sin with a planted forward rule",
                     checks=checks(sample(x(3)), **claims)), "test-suite")
    reg.add_kernel(KernelSpec(op="PlantedSin", device="cpu", fn=np.sin), "test-suite")
    return reg.ops["PlantedSin"]


def test_a_planted_wrong_forward_rule_is_reported_wrong_and_breaks_the_claim(scratch_registry):
    # the right first derivative, but one that does not differentiate again (cos held constant)
    wrong = lambda tangents, out, x: tangents[0] * F.cos(F.stop_gradient(x))  # noqa: E731
    op = _register_sin(scratch_registry, wrong)
    reverse = check_cell(scratch_registry, op, "cpu", 4)
    forward = check_cell(scratch_registry, op, "cpu", 4, mode="forward")
    assert reverse.status == "verified"
    assert forward.status == "wrong" and forward.verified_order == 1
    assert forward.claim_ok is False and "order 2" in forward.detail


def test_a_correct_forward_rule_is_verified_to_order_4(scratch_registry):
    op = _register_sin(scratch_registry, lambda tangents, out, x: tangents[0] * F.cos(x))
    cell = check_cell(scratch_registry, op, "cpu", 4, mode="forward")
    assert (cell.status, cell.verified_order, cell.claim_ok) == ("verified", 4, True)


def test_an_op_without_a_forward_rule_is_an_error_naming_it(scratch_registry):
    op = _register_sin(scratch_registry, None)
    cell = check_cell(scratch_registry, op, "cpu", 2, mode="forward")
    assert cell.status == "error" and cell.claim_ok is False
    assert "Forward-mode (JVP) rule for 'PlantedSin' not implemented" in cell.detail
