"""The hograd command."""
import subprocess
import sys

from hograd.cli import main


def test_demo_prints_derivatives_matching_analytic_values(capsys):
    assert main(["demo", "--max-order", "4"]) == 0
    out = capsys.readouterr().out
    assert "order 4:  0.841470984808   analytic  0.841470984808" in out
    assert "Hessian of x²y at (4, 5): [[10, 8], [8, 0]]" in out


def test_plugins_lists_the_builtin_plugins(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "builtin_ops (hograd.ops.library" in out and "cpu (hograd.devices.cpu" in out


def test_python_dash_m_runs_the_capability_report_by_default():
    result = subprocess.run([sys.executable, "-m", "hograd"], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Capability matrix")
    assert "| Sin | builtin_ops | ✓ 4 |" in result.stdout


def test_progress_bar_draws_on_a_terminal_and_stays_quiet_in_a_pipe():
    import io

    from hograd.cli import _progress_bar

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert _progress_bar(io.StringIO()) is None
    screen = Terminal()
    show = _progress_bar(screen)
    show(1, 4, "Sin on cpu")
    show(4, 4, "done")
    assert "\r[#######.......................] 1/4 Sin on cpu" in screen.getvalue()
    assert screen.getvalue().endswith("\n")
