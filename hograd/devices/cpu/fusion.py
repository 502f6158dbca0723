"""Fused elementwise groups on the CPU: each group's arithmetic as one loop nest, compiled by
numba (the optional extra ``hograd[fusion]``).

numpy runs a chain of k arithmetic ops as k passes over memory, each a ufunc call; one compiled
loop reads the inputs and writes the result once: a 6-op chain over 16,384 float64 values took
5 µs against numpy's 24 µs into planned buffers. numexpr, the other evaluator we measured, was
*slower* than numpy on one core (56 µs), and so was numba on transcendental functions (its
scalar libm tanh: 150 µs against numpy's vectorized 27 µs) — so CPU groups hold arithmetic,
comparisons, ``where``, ``abs``, ``sqrt`` (one instruction) and ``tanh``, written to
vectorize (``fused_math.py``: 15 µs), and leave exp, sin, … to numpy's kernels; a group may
end in the sum that reads it (``Fuser.reductions``), added up in its loop. Compiling
costs 0.1–0.3 s a group, so the CPU compiles a graph's groups in a background thread once the
graph has run twice (``Fuser.warm_calls``), and runs it unfused until they are ready; compiled
groups are kept on disk (``cache_directory``), so a later process loads them: grad⁶ of an
MLP waits 0.4 s for its 44 groups instead of 9–11 s.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import inspect
import itertools
import math
import os
import sys
import threading
from pathlib import Path

import numpy as np

from ...core.fusion import FusedExpression, constant_dtypes, dtype_name, input_dtypes
from . import fused_math

# the functions CPU groups compile (numpy keeps the rest: see above)
FUNCTIONS = frozenset({"where", "abs", "sqrt"} | set(fused_math.FUNCTIONS))
AVAILABLE = importlib.util.find_spec("numba") is not None
_names = itertools.count()


def python_loop(expression: FusedExpression) -> str:
    """The source of ``fused(in0, in1, …, out)``: a loop nest over ``out`` computing the group
    element by element, each input indexed as it broadcasts (its shape is fixed by the graph).
    A group ending in a sum loops over its value's shape and adds each element into its place
    in ``out``, or for float32 in a float64 total (so the sum rounds once, at the end)."""
    shape = expression.shape
    rank = len(shape)
    # an axis of length 1 gets no loop (index 0): an innermost loop of one element would leave
    # the loop around it scalar, which LLVM vectorizes otherwise (a (1000, 100, 1) product
    # took 183 µs, numpy's broadcasting 49)
    indices = ["0" if n == 1 else f"i{d}" for d, n in enumerate(shape)]
    number_dtypes = constant_dtypes(expression)
    value_dtypes = input_dtypes(expression)

    def element(position: int) -> str:
        aval = expression.inputs[position]
        if not aval.shape:
            return f"in{position}[()]"
        lead = rank - len(aval.shape)
        # an axis of length 1 broadcasts: always its element 0
        index = ", ".join("0" if n == 1 and shape[lead + d] != 1 else indices[lead + d]
                          for d, n in enumerate(aval.shape))
        return f"in{position}[{index}]"

    def render(node: ast.expr) -> str:
        if isinstance(node, ast.Name):
            return element(int(node.id[2:]))
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                return repr(node.value)
            value = float(node.value)
            literal = repr(value) if math.isfinite(value) else f"float({str(value)!r})"
            # numpy keeps float32 arithmetic with Python numbers in float32 (NEP 50)
            return (f"np.float32({literal})" if number_dtypes[id(node)] == "float32"
                    else literal)
        if isinstance(node, ast.BinOp):
            op = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
                  ast.BitAnd: "&", ast.BitOr: "|"}[type(node.op)]
            return f"({render(node.left)} {op} {render(node.right)})"
        if isinstance(node, ast.UnaryOp):
            op = {ast.USub: "-", ast.UAdd: "+", ast.Invert: "not ", ast.Not: "not "}[
                type(node.op)]
            return f"({op}{render(node.operand)})"
        if isinstance(node, ast.Compare):
            (op,), (right,) = node.ops, node.comparators
            symbol = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">",
                      ast.GtE: ">="}[type(op)]
            return f"({render(node.left)} {symbol} {render(right)})"
        if isinstance(node, ast.Call):
            args = [render(a) for a in node.args]
            if node.func.id == "where":
                return f"({args[1]} if {args[0]} else {args[2]})"
            if node.func.id == "sqrt":
                return f"np.sqrt({args[0]})"
            if node.func.id in fused_math.FUNCTIONS:
                # computed in float64: a float32 argument's result is rounded back, as numpy's
                # float32 kernel gives it
                call = f"fused_{node.func.id}({args[0]})"
                return (f"np.float32({call})"
                        if dtype_name(node, value_dtypes) == "float32" else call)
            return f"abs({args[0]})"
        raise ValueError(f"not a CPU-fused expression: {ast.unparse(node)}")

    params = ", ".join(f"in{i}" for i in range(len(expression.inputs)))
    lines = [f"def fused({params}{', ' if params else ''}out):"]
    looped = [(d, index) for d, index in enumerate(indices) if index != "0"]
    if not expression.reduce_axes:
        for depth, (axis, index) in enumerate(looped):
            lines.append("    " * (depth + 1) + f"for {index} in range(out.shape[{axis}]):")
        target = f"out[{', '.join(indices)}]" if rank else "out[()]"
        lines.append("    " * (len(looped) + 1) + f"{target} = {render(expression.tree)}")
        return "\n".join(lines)
    kept_dims = len(expression.out.shape) == rank
    place = [("0" if kept_dims else None) if d in expression.reduce_axes else index
             for d, index in enumerate(indices)]
    place = [p for p in place if p is not None]
    in_place = expression.out.dtype.name == "float64"
    lines.append("    total = out" if in_place else "    total = np.empty(out.shape, np.float64)")
    lines += ["    totals = total.reshape(total.size)",
              "    for k in range(totals.size):",
              "        totals[k] = 0.0"]
    # the value's own loop order: a sum over leading axes (a batch's column sums) adds into
    # distinct places in the inner loop, which vectorizes
    for depth, (axis, index) in enumerate(looped):
        lines.append("    " * (depth + 1) + f"for {index} in range({shape[axis]}):")
    target = f"total[{', '.join(place)}]" if place else "total[()]"
    lines.append("    " * (len(looped) + 1) + f"{target} += {render(expression.tree)}")
    if not in_place:
        lines += ["    flat = out.reshape(out.size)",
                  "    for k in range(flat.size):",
                  "        flat[k] = totals[k]"]
    return "\n".join(lines)


# numpy's error model: x / 0 is inf and 0 / 0 NaN, as numpy gives, not an exception
_NUMBA_OPTIONS = {"error_model": "numpy"}


@functools.lru_cache(maxsize=None)
def _compiled_math() -> dict:
    """fused_math's functions compiled with "contract", which lets LLVM fuse a * b + c into one
    FMA (a tanh's polynomial then costs half) and allows nothing else of fast math. They are not
    inlined by numba, whose flags are a whole function's: LLVM inlines them into the loop and
    keeps the flag on their own instructions, so the group's other arithmetic rounds each
    operation as numpy does."""
    import numba
    return {f"fused_{name}": numba.njit(**_NUMBA_OPTIONS, fastmath={"contract"})(function)
            for name, function in fused_math.FUNCTIONS.items()}


def numba_compiler(expression: FusedExpression):
    """``Fuser.compile`` for the CPU: the group's loop nest, compiled by numba now (for
    C-contiguous arrays of the group's dtypes), so no call waits for a compiler; loaded from
    the disk cache (``cache_directory``) when an earlier process compiled it."""
    import numba

    def array_type(aval, readonly):
        return numba.types.Array(numba.from_dtype(np.dtype(aval.dtype.name)), len(aval.shape),
                                 "C", readonly=readonly)

    # inputs typed read-only: the graph's constants are, and a writable array converts
    signature = numba.void(*[array_type(a, True) for a in expression.inputs],
                           array_type(expression.out, False))
    source = python_loop(expression)
    module = _cached_module(source, f"{signature}{sorted(_NUMBA_OPTIONS.items())}")
    loop = None
    if module is not None:
        try:
            loop = numba.njit(signature, **_NUMBA_OPTIONS, nogil=True,
                              cache=True)(module.fused)
        except RuntimeError:
            # numba found no place to cache it (its file went away since it was imported):
            # compiled in memory instead of failing the graph's fusion
            loop = None
    if loop is None:
        namespace = {"np": np, "math": math, **_compiled_math()}
        exec(compile(source, f"<hograd fused {next(_names)}>", "exec"),
             namespace)  # noqa: S102 (generated from a checked expression)
        loop = numba.njit(signature, **_NUMBA_OPTIONS, nogil=True)(namespace["fused"])
    shape, dtype = expression.out.shape, expression.out.dtype.name

    def kernel(*arrays, out=None):
        if out is None:
            out = np.empty(shape, dtype=dtype)
        # views (transposes, broadcasts) are copied to the layout the loop was compiled for
        loop(*[a if a.flags.c_contiguous else np.ascontiguousarray(a) for a in arrays], out)
        return out
    kernel.dispatcher = loop   # numba's: its stats say whether it came from the disk cache
    return kernel


# ---- the disk cache ---------------------------------------------------------------------------
# numba caches a compiled function beside the file that defines it, so each group's loop is
# written to a file named by the hash of what it compiles from: its source, its signature and
# options, the source of fused_math (compiled into it) and numba's version. A process that meets
# a group an earlier one compiled loads it (grad⁶ of an MLP: 44 groups) instead of compiling it.
CACHE_VARIABLE = "HOGRAD_CACHE_DIR"
_PREAMBLE = (f"# generated by {__name__}: a fused group's loop, cached by numba beside it\n"
             "import math\n\nimport numpy as np\n\n"
             f"from {__name__} import _compiled_math\n\nglobals().update(_compiled_math())\n\n\n")


def cache_directory() -> "Path | None":
    """Where compiled groups are kept: ``$HOGRAD_CACHE_DIR/fused`` (set it empty to keep none),
    else ``$XDG_CACHE_HOME/hograd/fused``, else ``~/.cache/hograd/fused``."""
    root = os.environ.get(CACHE_VARIABLE)
    if root is None:
        root = os.path.join(os.environ.get("XDG_CACHE_HOME") or
                            os.path.join(os.path.expanduser("~"), ".cache"), "hograd")
    return Path(root) / "fused" if root else None


@functools.lru_cache(maxsize=None)
def _fused_math_source() -> str:
    return inspect.getsource(fused_math)


def _cached_module(source: str, compiled_as: str):
    """The module of ``source`` written in the cache directory and imported, or None where the
    directory cannot be written (the group is then compiled in memory, every process)."""
    import numba
    directory = cache_directory()
    if directory is None:
        return None
    try:
        math_source = _fused_math_source()
    except OSError:   # hograd installed without its sources: nothing to key the cache by
        return None
    key = hashlib.sha256("\0".join((source, compiled_as, numba.__version__,
                                     math_source)).encode()).hexdigest()[:24]
    name = f"hograd_fused_{key}"
    path = directory / f"{name}.py"
    # one thread at a time: another thread's import puts the module in sys.modules before it
    # has run (and defined ``fused``)
    with _import_lock:
        module = sys.modules.get(name)
        # a module imported earlier serves only while its file is still there, where numba
        # caches beside it (the directory may have been cleared, or moved by the variable)
        if module is not None and Path(module.__file__) == path and path.is_file():
            return module
        return _import_cached(name, path, directory, source)


_import_lock = threading.Lock()


def _import_cached(name: str, path: Path, directory: Path, source: str):
    text = _PREAMBLE + source + "\n"
    partial = directory / f".{name}.{os.getpid()}.{threading.get_ident()}"
    try:
        # a file that is not what this source writes (left half-written by a full disk, say)
        # is written again
        if not path.is_file() or path.read_text() != text:
            directory.mkdir(parents=True, exist_ok=True)
            # written whole under another name first: a process reading it never sees half
            partial.write_text(text)
            os.replace(partial, path)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module   # numba finds a cached function's module by its name
        spec.loader.exec_module(module)
    except (OSError, ImportError, SyntaxError, UnicodeDecodeError):
        sys.modules.pop(name, None)
        try:
            partial.unlink(missing_ok=True)
        except OSError:
            pass
        return None
    return module
