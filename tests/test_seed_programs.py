"""The seed tutorial's seven programs print MindSpore's numbers on hograd, in both modes.

The programs and their checker live in the project's shared folder beside this repository.
"""
import pathlib
import subprocess
import sys

import pytest

CHECKER = pathlib.Path(__file__).resolve().parents[2] / "shared" / "tools" / "check_seed_programs.py"


@pytest.mark.skipif(not CHECKER.exists(), reason=f"seed checker not found at {CHECKER}")
def test_all_seed_programs_match_in_graph_and_pynative_mode():
    result = subprocess.run([sys.executable, str(CHECKER), "--mode", "both"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == "seed programs: 14 of 14 match"
