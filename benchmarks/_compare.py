"""Timing hograd beside its peers (numpy, JAX, torch, cupy) in one process: the bench_h*.py scripts.

Import it before numpy: when the process runs a ``bench_*.py`` script with ``--device cpu``, the
import pins the process to one core and OpenMP, OpenBLAS, MKL and XLA to one thread, as issue 9
states its CPU measurements (numpy, torch and JAX read those settings once, when they load).
With ``--device gpu`` it only keeps JAX from taking 75 % of the GPU's memory at start, so that
cupy (hograd's GPU arrays) and torch share the card with it.

A script then builds one ``Contender`` per implementation, runs each once (``first_calls``: the
first call traces, derives and compiles), checks the results (``agreement``), times them call by
call in turn (``measure``) and prints one table with the ratios of hograd to each peer
(``report``). ``Peers`` loads JAX, torch and cupy where they are installed and says why not
where not, so every script runs with whatever is there.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
DEFAULT_CALLS = {"cpu": 200, "gpu": 30}


def command_line(argv: Sequence[str]) -> argparse.Namespace:
    """The options every benchmark script takes; its docstring's first line describes it."""
    main = sys.modules.get("__main__")
    description = ((getattr(main, "__doc__", None) or "").strip().splitlines() or [""])[0]
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu",
                        help="cpu: float64 on one pinned core (default); gpu: float32 on the "
                             "first CUDA device, where cupy sees one")
    parser.add_argument("--calls", type=int, default=None,
                        help="timed calls of each contender after warm-up "
                             f"(default {DEFAULT_CALLS['cpu']} on cpu, {DEFAULT_CALLS['gpu']} "
                             f"on gpu)")
    parser.add_argument("--core", type=int, default=None,
                        help="the CPU core to pin the process to (default: the last one "
                             "this process may use)")
    parser.add_argument("--blocks", action="store_true",
                        help="time each contender's calls in one block instead of taking "
                             "turns call by call (its caches stay warm: shows what the "
                             "turns cost a small workload)")
    options = parser.parse_args(list(argv))
    options.calls = options.calls or DEFAULT_CALLS[options.device]
    return options


def pin_to_one_core(core: int | None = None) -> int:
    """Pin this process (and every thread it starts later) to one core and the BLAS, OpenMP and
    XLA thread pools to one thread; returns the core. Call it before numpy, torch or JAX load."""
    for variable in THREAD_VARIABLES:
        os.environ[variable] = "1"
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {XLA_ONE_THREAD}".strip()
    allowed = sorted(os.sched_getaffinity(0))
    core = allowed[-1] if core is None else core
    # the calling thread's mask; threads started afterwards (BLAS, XLA, torch) inherit it
    os.sched_setaffinity(0, {core})
    return core


def _running_a_benchmark() -> bool:
    return os.path.basename(sys.argv[0]).startswith("bench_")


OPTIONS = command_line(sys.argv[1:] if _running_a_benchmark() else [])
CORE: int | None = None
if _running_a_benchmark():
    if OPTIONS.device == "cpu":
        CORE = pin_to_one_core(OPTIONS.core)
    else:
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import numpy as np  # noqa: E402  (after the thread settings above)


# ---- the peers -----------------------------------------------------------------------------------
@dataclass
class Peers:
    """The frameworks hograd is compared with on one device, each None where it cannot run.

    ``missing`` says, per framework left out, why. On the GPU, ``hograd`` is None too when
    hograd's GPU device does not work (its reason under ``missing["hograd"]``).
    """

    device: str
    dtype: Any
    jax: Any = None
    torch: Any = None
    cupy: Any = None
    hograd: Any = None
    jax_device: Any = None
    torch_device: Any = None
    missing: dict[str, str] = field(default_factory=dict)

    def jax_array(self, array: np.ndarray):
        return self.jax.device_put(np.asarray(array, self.dtype), self.jax_device)

    def torch_tensor(self, array: np.ndarray, requires_grad: bool = False):
        tensor = self.torch.tensor(np.asarray(array, self.dtype), device=self.torch_device)
        return tensor.requires_grad_(requires_grad)

    def hograd_tensor(self, array: np.ndarray):
        """A hograd Tensor on this device (GRAPH_MODE and the device are set by ``load``)."""
        return self.hograd.Tensor(np.asarray(array, self.dtype))

    def settle(self, framework: str, output: Any) -> None:
        """Wait until ``output`` is computed: a GPU runs asynchronously, and so does JAX."""
        if framework == "jax":
            self.jax.block_until_ready(output)
        elif self.device == "gpu" and framework in ("hograd", "cupy"):
            self.cupy.cuda.Device().synchronize()
        elif self.device == "gpu" and framework == "torch":
            self.torch.cuda.synchronize()

    def free_memory(self) -> None:
        """Hand cached GPU memory back between workloads (cupy's pool, torch's cache)."""
        if self.device != "gpu":
            return
        if self.cupy is not None:
            self.cupy.get_default_memory_pool().free_all_blocks()
        if self.torch is not None:
            self.torch.cuda.empty_cache()


def load(device: str, frameworks: Sequence[str] = ("jax", "torch")) -> Peers:
    """hograd in GRAPH_MODE on ``device`` and those of ``frameworks`` that run there: float64
    on the CPU, float32 on the GPU. On the GPU, ``peers.cupy`` is None when cupy or a CUDA
    device is absent (see ``gpu_absent``)."""
    import hograd
    peers = Peers(device, np.float64 if device == "cpu" else np.float32, hograd=hograd)
    hograd.set_context(mode=hograd.GRAPH_MODE)
    if device == "gpu":
        from hograd.devices.gpu import probe
        peers.cupy, reason = probe()
        if peers.cupy is None:
            peers.missing["cupy"] = reason
            return peers
        try:
            hograd.set_context(device_target="GPU")
            ones = hograd.Tensor(np.ones(2, np.float32))
            hograd.ops.GradOperation()(hograd.ops.sin)(ones).asnumpy()
        except Exception as err:  # a missing package of hograd[gpu], a broken kernel: say so
            peers.hograd = None
            peers.missing["hograd"] = f"hograd's GPU device failed: {type(err).__name__}: {err}"
    if "jax" in frameworks:
        _load_jax(peers)
    if "torch" in frameworks:
        _load_torch(peers)
    return peers


def _load_jax(peers: Peers) -> None:
    try:
        import jax
    except ImportError:
        peers.missing["jax"] = "not installed"
        return
    jax.config.update("jax_enable_x64", peers.device == "cpu")
    try:
        peers.jax_device = jax.devices("cpu" if peers.device == "cpu" else "gpu")[0]
    except RuntimeError as err:
        peers.missing["jax"] = f"no {peers.device} backend: {err}".splitlines()[0]
        return
    peers.jax = jax


def _load_torch(peers: Peers) -> None:
    try:
        import torch
    except ImportError:
        peers.missing["torch"] = "not installed"
        return
    if peers.device == "cpu":
        torch.set_num_threads(1)
        peers.torch_device = torch.device("cpu")
    elif torch.cuda.is_available():
        peers.torch_device = torch.device("cuda")
    else:
        peers.missing["torch"] = f"torch {torch.__version__} sees no CUDA device"
        return
    peers.torch = torch


def gpu_absent(peers: Peers, script: str) -> bool:
    """Print one line and return True when there is no GPU to run on (the caller exits 0)."""
    if peers.cupy is not None:
        return False
    print(f"{script} --device gpu: skipped, no GPU here ({peers.missing['cupy']})")
    return True


# ---- contenders, checks and timing ------------------------------------------------------------
@dataclass
class Contender:
    """One implementation of a workload.

    ``call`` computes the result from inputs it holds; ``framework`` is "hograd", "numpy",
    "jax", "torch" or "cupy" (it says how to wait for a result and which ratios to print);
    ``checked`` is False for a baseline that computes something else (the primal beside a
    derivative); ``nodes`` is the size of hograd's compiled graph where it is cheap to read.
    """

    label: str
    framework: str
    call: Callable[[], Any]
    checked: bool = True
    nodes: int | None = None
    first_seconds: float = float("nan")


@dataclass
class Timing:
    first: float
    fastest: float
    median: float


def first_calls(contenders: list[Contender], peers: Peers) -> dict[str, Any]:
    """Call each contender once (for hograd and JAX: trace, derive, compile and run), keeping
    the time; returns the results by label."""
    results = {}
    for contender in contenders:
        started = time.perf_counter()
        results[contender.label] = output = contender.call()
        peers.settle(contender.framework, output)
        contender.first_seconds = time.perf_counter() - started
    return results


def host(output: Any, sample: Any = None) -> list[np.ndarray]:
    """The arrays of a result (a tensor of any framework, or a tuple/list of them) on the host,
    in float64; with ``sample``, each flattened and indexed by it first, on its own device
    (so that checking 10⁸ points moves a sample, not the whole array, off the GPU)."""
    if isinstance(output, (tuple, list)):
        return [array for item in output for array in host(item, sample)]
    if hasattr(output, "detach"):                       # torch: leave its autograd graph
        output = output.detach()
    if sample is not None:
        output = output.reshape(-1)[sample]
    if hasattr(output, "asnumpy"):                      # a hograd Tensor
        array = output.asnumpy()
    elif hasattr(output, "cpu"):                        # a torch tensor
        array = output.cpu().numpy()
    elif hasattr(output, "get") and hasattr(output, "device"):  # a cupy array
        array = output.get()
    else:                                               # numpy, JAX
        array = np.asarray(output)
    return [np.asarray(array, np.float64)]


def agreement(results: dict[str, Any], contenders: list[Contender], reference: list[np.ndarray],
              tolerance: float, sample: Any = None) -> dict[str, float]:
    """Each checked contender's largest difference from ``reference``, relative to the
    reference's largest magnitude (per array); raises AssertionError naming the first contender
    that differs by more than ``tolerance``. With ``sample`` (an index into the flattened
    arrays, such as a stride), ``reference`` holds the expected values at those entries only."""
    differences = {}
    for contender in contenders:
        if not contender.checked:
            continue
        got = host(results[contender.label], sample)
        if len(got) != len(reference):
            raise AssertionError(f"{contender.label}: {len(got)} arrays, expected "
                                 f"{len(reference)}")
        worst = 0.0
        for index, (mine, theirs) in enumerate(zip(got, reference)):
            if mine.size != theirs.size:
                raise AssertionError(f"{contender.label}: array {index} has shape {mine.shape}, "
                                     f"expected {theirs.shape}")
            mine, theirs = mine.reshape(-1), theirs.reshape(-1)
            scale = max(float(np.max(np.abs(theirs))), np.finfo(np.float64).tiny)
            worst = max(worst, float(np.max(np.abs(mine - theirs))) / scale)
        if not worst <= tolerance:  # a NaN fails too
            raise AssertionError(f"{contender.label} differs from the reference by {worst:.2e} "
                                 f"(relative to its largest value), more than {tolerance:.0e}")
        differences[contender.label] = worst
    return differences


# warm-up lasts at least this long per contender, and for hograd until the graphs it fuses in
# the background (the CPU's numba loops, once a graph has run twice) run fused
WARMUP_SECONDS = 1.0


def warm_up(contender: "Contender", peers: "Peers", calls: int) -> None:
    started = time.perf_counter()
    done = 0
    while done < calls or time.perf_counter() - started < WARMUP_SECONDS:
        peers.settle(contender.framework, contender.call())
        done += 1
    if contender.framework == "hograd":
        # its graphs are fused in the background once they have run twice: time them fused
        from hograd.core.executor import wait_for_fusions
        wait_for_fusions()


def measure(contenders: list[Contender], peers: Peers, calls: int, warmup: int = 3,
            blocks: bool = False) -> dict[str, Timing]:
    """Fastest and median of ``calls`` calls of each contender, after ``warmup`` calls and
    at least ``WARMUP_SECONDS`` of calls.

    By default the contenders take turns call by call (so load from other processes falls on
    all alike), the order rotating each round (so no contender always runs right after the same
    other one: which call ran before moves a call's time through the caches and the
    allocator's state). With ``blocks``, each contender's calls run one after another."""
    times: dict[str, list[float]] = {c.label: [] for c in contenders}

    def timed(contender: Contender) -> None:
        started = time.perf_counter()
        output = contender.call()
        peers.settle(contender.framework, output)
        times[contender.label].append(time.perf_counter() - started)

    if blocks:
        for contender in contenders:
            warm_up(contender, peers, warmup)
            for _ in range(calls):
                timed(contender)
    else:
        for contender in contenders:
            warm_up(contender, peers, warmup)
        for round_ in range(calls):
            shift = round_ % len(contenders)
            for contender in contenders[shift:] + contenders[:shift]:
                timed(contender)
    return {c.label: Timing(c.first_seconds, min(times[c.label]),
                            statistics.median(times[c.label])) for c in contenders}


# ---- the printed table --------------------------------------------------------------------------
def seconds_text(seconds: float) -> str:
    if seconds != seconds:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def setting(peers: Peers, calls: int) -> str:
    """One line saying where and how the figures were taken."""
    if peers.device == "cpu":
        core = f"pinned to core {CORE}" if CORE is not None else "not pinned"
        where = f"CPU, float64, one thread, {core}"
    else:
        props = peers.cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        where = f"GPU ({name}), float32"
    order = "in one block each" if OPTIONS.blocks else "taking turns"
    return (f"{where}; {calls} calls of each, {order}, after 3 warm-up calls, at least "
            f"{WARMUP_SECONDS:g} s of calls and hograd's background fusion")


def report(title: str, contenders: list[Contender], timings: dict[str, Timing],
           differences: dict[str, float], checked_against: str, peers: Peers,
           calls: int) -> None:
    """The table (first call, fastest, median, nodes, agreement) and hograd's ratios."""
    print(f"\n{title}\n{setting(peers, calls)}")
    width = max(len(c.label) for c in contenders)
    print(f"  {'':{width}}  {'first call':>10}  {'fastest':>10}  {'median':>10}  {'nodes':>6}  "
          f"{'differs by':>10}")
    for contender in contenders:
        timing = timings[contender.label]
        nodes = "" if contender.nodes is None else str(contender.nodes)
        difference = differences.get(contender.label)
        agree = ("(baseline)" if not contender.checked else
                 "(reference)" if difference is None else f"{difference:.1e}")
        print(f"  {contender.label:{width}}  {seconds_text(timing.first):>10}  "
              f"{seconds_text(timing.fastest):>10}  {seconds_text(timing.median):>10}  "
              f"{nodes:>6}  {agree:>10}")
    print(f"  differs by: {checked_against}")
    ours = [c for c in contenders if c.framework == "hograd"]
    theirs = [c for c in contenders if c.framework != "hograd"]
    if ours and theirs:
        print("  hograd / peer (fastest, median):")
        for mine in ours:
            for peer in theirs:
                fastest = timings[mine.label].fastest / timings[peer.label].fastest
                median = timings[mine.label].median / timings[peer.label].median
                print(f"    {mine.label} / {peer.label}: {fastest:.2f}×, {median:.2f}×")
    for framework, reason in peers.missing.items():
        print(f"  ({framework} not compared: {reason})")


def run(title: str, contenders: list[Contender], peers: Peers, calls: int,
        check: Callable[[dict[str, Any]], tuple[dict[str, float], str]]) -> dict[str, Timing]:
    """First calls, the check, the timed calls and the table: one workload from start to end.

    ``check(results)`` raises where a result is wrong, else returns each contender's difference
    from the reference and a phrase saying what the reference is."""
    results = first_calls(contenders, peers)
    differences, checked_against = check(results)
    del results
    timings = measure(contenders, peers, calls, blocks=OPTIONS.blocks)
    report(title, contenders, timings, differences, checked_against, peers, calls)
    peers.free_memory()
    return timings


def warm_up_hograd(hograd: Any, dtype: Any) -> None:
    """Load hograd's registry, op library and Taylor rules with a tiny unrelated function, so
    that a workload's first call measures its own trace, derivation and compile."""
    x = hograd.Tensor(np.ones((2, 1), dtype))
    hograd.ops.GradOperation()(hograd.ops.GradOperation()(hograd.ops.cos))(x)
    hograd.ops.derivative(hograd.ops.cos, x, 2)
    hograd.laplacian(hograd.ops.cos)(x)
