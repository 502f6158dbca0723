"""The ``hograd`` command (also ``python -m hograd``).

``hograd capabilities`` (the default) runs every op's derivative checks on every device and
prints the capability matrix (Markdown, JSON or HTML);
``hograd demo`` shows nested derivatives computed and checked on the CPU;
``hograd ops`` lists the registered ops with their providers and devices;
``hograd plugins`` lists the plugins and what each registered.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np


def _demo(args: argparse.Namespace) -> int:
    from . import Tensor, __version__, context, ops
    context.set_context(device_target=args.device)
    grad = ops.GradOperation
    x = 1.0
    print(f"hograd {__version__}: derivatives of sin(x) at x = {x} on {args.device}")
    analytic = [np.sin, np.cos, lambda v: -np.sin(v), lambda v: -np.cos(v)]
    fn = ops.sin
    worst = 0.0
    for order in range(1, args.max_order + 1):
        fn = grad()(fn)
        value = float(fn(Tensor(np.array([x]))).asnumpy()[0])
        expected = float(analytic[order % 4](x))
        worst = max(worst, abs(value - expected))
        nodes = len(fn.graph(Tensor(np.array([x]))).nodes)
        print(f"  order {order}: {value: .12f}   analytic {expected: .12f}   "
              f"graph after passes: {nodes} node{'s' if nodes != 1 else ''}")
    first = grad(get_all=True)(lambda a, b: a * a * b)
    second = grad(get_all=True, sens_param=True)(first)
    a, b = Tensor(np.array([4.0])), Tensor(np.array([5.0]))
    hxx, hxy = second(a, b, (Tensor(np.array([1.0])), Tensor(np.array([0.0]))))
    hyx, hyy = second(a, b, (Tensor(np.array([0.0])), Tensor(np.array([1.0]))))
    print("Hessian of x²y at (4, 5): "
          f"[[{hxx.asnumpy()[0]:g}, {hxy.asnumpy()[0]:g}], [{hyx.asnumpy()[0]:g}, "
          f"{hyy.asnumpy()[0]:g}]]   analytic [[10, 8], [8, 0]]")
    print(f"largest error against the analytic values: {worst:.2e}")
    return 0 if worst < 1e-9 else 1


def _progress_bar(stream):
    """A one-line progress bar on a terminal; nothing in a pipe."""
    if not stream.isatty():
        return None

    def show(done: int, total: int, label: str) -> None:
        width = 30
        filled = width * done // max(total, 1)
        end = "\n" if done == total else ""
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
                     f"{label[:40]:40s}{end}")
        stream.flush()
    return show


def _capabilities(args: argparse.Namespace) -> int:
    import json

    from .capabilities.report import CapabilityReport, build_report, to_html, to_markdown
    from .core.registry import registry
    if args.schema:
        print(json.dumps(CapabilityReport.model_json_schema(), indent=2))
        return 0
    split = lambda text: [t for t in (text or "").split(",") if t]  # noqa: E731
    report = build_report(registry(), devices=split(args.device) or None,
                          ops=split(args.ops) or None, max_order=args.max_order, seed=args.seed,
                          progress=_progress_bar(sys.stderr))
    text = {"md": to_markdown, "html": to_html,
            "json": lambda r: r.model_dump_json(indent=2)}[args.format](report)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text if text.endswith("\n") else text + "\n")
    else:
        print(text)
    broken = report.broken_claims()
    for line in broken:
        print(f"claim broken: {line}", file=sys.stderr)
    return 1 if broken else 0


def _ops(args: argparse.Namespace) -> int:
    from .core.registry import registry
    reg = registry()
    seen = set()
    for name in sorted(reg.ops):
        op = reg.ops[name]
        if op.name in seen or op.internal or not op.exposed:
            continue
        seen.add(op.name)
        devices = sorted(d for d in reg.devices if (op.name, d) in reg.kernels)
        devices = devices or (["any (generic)"] if op.kernel_factory else ["none"])
        aliases = f" (alias {', '.join(op.aliases)})" if op.aliases else ""
        print(f"{op.name}{aliases}: from {reg.op_provider[op.name]}, kernels on "
              f"{', '.join(devices)} — {op.doc}")
    return 0


def _plugins(args: argparse.Namespace) -> int:
    from .core.registry import registry
    if args.hook_reference:
        from .core.hookspecs import reference_markdown
        print(reference_markdown(), end="")
        return 0
    for record in registry().plugins:
        version = f" {record.version}" if record.version else ""
        print(f"{record.name} ({record.module}, {record.distribution or '?'}{version}): "
              f"{record.status}")
        if record.error:
            print(f"  error: {record.error}")
        if record.hooks:
            print(f"  hooks: {', '.join(record.hooks)}")
        for hook, items in record.provided.items():
            print(f"  {hook}: {len(items)} ({', '.join(items[:8])}{', …' if len(items) > 8 else ''})")
        for what in record.overrides:
            print(f"  overrides {what}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hograd", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    caps = commands.add_parser("capabilities",
                               help="run the derivative checks and print the capability matrix")
    caps.add_argument("--device", help="comma-separated devices (default: every registered one)")
    caps.add_argument("--max-order", type=int, default=4)
    caps.add_argument("--ops", help="comma-separated op names (default: all)")
    caps.add_argument("--format", choices=("md", "json", "html"), default="md")
    caps.add_argument("--output", help="write to this file instead of standard output")
    caps.add_argument("--seed", type=int, default=0)
    caps.add_argument("--schema", action="store_true",
                      help="print the JSON schema of the report and exit")
    demo = commands.add_parser("demo", help="nested derivatives, checked against analytic values")
    demo.add_argument("--device", default="CPU")
    demo.add_argument("--max-order", type=int, default=4)
    commands.add_parser("ops", help="list registered ops")
    plugin_list = commands.add_parser("plugins", help="list plugins and what they registered")
    plugin_list.add_argument("--hook-reference", action="store_true",
                             help="print the hook reference (Markdown) for plugin authors")
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["capabilities"])
    handler = {"capabilities": _capabilities, "demo": _demo, "ops": _ops,
               "plugins": _plugins}[args.command]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
