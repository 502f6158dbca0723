"""The capability report: a pydantic schema, built by running the checks, rendered three ways.

``build_report`` runs every op on every device; ``to_markdown`` is deterministic (it is
committed as ``docs/capabilities.md``), ``model_dump_json`` follows ``CapabilityReport``'s JSON
schema (``hograd capabilities --schema``), ``to_html`` is one self-contained page.
"""
from __future__ import annotations

import html
from typing import Callable, Optional

from pydantic import BaseModel

from ..core.registry import Registry
from .checker import STATUSES, CellResult, check_cell, node_counts
from .batch_check import BATCH_STATUSES, BatchResult, check_batching
from .taylor_check import TAYLOR_ORDER, TaylorResult, check_taylor


class DeviceColumn(BaseModel):
    """A device as the report saw it."""

    name: str
    aliases: list[str]
    present: bool
    absent_reason: Optional[str] = None
    provider: str


class OpRow(BaseModel):
    """One op: who provides it, its cells per device, and the size of its derivative graphs."""

    op: str
    provider: str
    kind: str
    doc: str
    claimed_order: Optional[int] = None
    # nodes of the k-th derivative graph (k = 1, 2, …) of the op's first sample on the CPU,
    # after passes, with cotangents as inputs too (as the checks differentiate it)
    graph_nodes: list[int] = []
    cells: dict[str, CellResult]
    # its Taylor rule (jet) checked on the CPU against finite differences, to TAYLOR_ORDER
    taylor: Optional[TaylorResult] = None
    # the same checks in forward mode (nested jvp), per device
    forward_cells: dict[str, CellResult] = {}
    # vmap per device: its batching rule (or the fallback loop) against a loop of unbatched calls
    batch_cells: dict[str, BatchResult] = {}


class CapabilityReport(BaseModel):
    """Which op differentiates to which order on which device, found by running checks."""

    hograd_version: str
    max_order: int
    seed: int
    devices: list[DeviceColumn]
    ops: list[OpRow]

    @property
    def claims_hold(self) -> bool:
        return all(cell.claim_ok for row in self.ops
                   for cell in (*row.cells.values(), *row.forward_cells.values())) \
            and not self.broken_batching()

    def broken_batching(self) -> list[str]:
        """Ops whose vmap disagrees with a loop of unbatched calls, or whose check crashed."""
        return [f"{row.op} on {device} (vmap): {cell.status} — {cell.detail}"
                for row in self.ops for device, cell in row.batch_cells.items()
                if cell.status in ("wrong", "error")]

    def broken_claims(self) -> list[str]:
        return [f"{row.op} on {device}{mode}: {cell.status} — {cell.detail}"
                for row in self.ops
                for mode, cells in (("", row.cells), (" (forward mode)", row.forward_cells))
                for device, cell in cells.items() if not cell.claim_ok] + self.broken_batching()


def build_report(registry: Registry, *, devices: Optional[list[str]] = None,
                 ops: Optional[list[str]] = None, max_order: int = 4, seed: int = 0,
                 progress: Optional[Callable[[int, int, str], None]] = None) -> CapabilityReport:
    """Run the checks and collect the report (``progress(done, total, label)`` as it goes)."""
    from .. import __version__
    # columns in the registry's order, which is the plugins' fixed load order
    device_names = [registry.device(d, require_present=False).name for d in devices] \
        if devices else list(registry.devices)
    op_names = sorted({registry.op(o).name for o in ops} if ops else
                      {o.name for o in registry.ops.values() if not o.internal})
    columns = [DeviceColumn(name=d, aliases=list(registry.devices[d].aliases),
                            present=registry.devices[d].present,
                            absent_reason=registry.devices[d].absent_reason,
                            provider=registry.device_provider[d]) for d in device_names]
    rows, total, done = [], 2 * len(op_names) * len(device_names), 0
    for name in op_names:
        op = registry.ops[name]
        spec = registry.specs.get(name)
        cells, forward_cells, batch_cells = {}, {}, {}
        for device in device_names:
            if progress:
                progress(done, total, f"{name} on {device}")
            cells[device] = check_cell(registry, op, device, max_order, seed)
            forward_cells[device] = check_cell(registry, op, device, max_order, seed,
                                               mode="forward")
            batch_cells[device] = check_batching(registry, op, device, seed)
            done += 2
        nodes = node_counts(op, spec, max_order, seed) if "cpu" in registry.devices else []
        taylor = check_taylor(op, spec, TAYLOR_ORDER, seed) if "cpu" in registry.devices else None
        rows.append(OpRow(op=name, provider=registry.op_provider[name],
                          kind="composite" if op.composite else "primitive", doc=op.doc,
                          claimed_order=spec.max_order if spec and spec.derivative == "checked"
                          else None, graph_nodes=nodes, cells=cells, taylor=taylor,
                          forward_cells=forward_cells, batch_cells=batch_cells))
    if progress:
        progress(total, total, "done")
    return CapabilityReport(hograd_version=__version__, max_order=max_order, seed=seed,
                            devices=columns, ops=rows)


# ---- rendering --------------------------------------------------------------------------------
SHORT = {"verified": "✓ {order}", "wrong": "✗ wrong at {next}", "not differentiable": "∅ not differentiable",
         "zero by definition": "0 by definition", "expected failure": "xfail at {next}",
         "no kernel": "no kernel", "device absent": "absent: {detail}", "inconclusive": "? at {next}",
         "unchecked": "unchecked", "error": "✗ error"}


def cell_text(cell: CellResult) -> str:
    text = SHORT[cell.status].format(order=cell.verified_order, next=cell.verified_order + 1,
                                     detail=cell.detail)
    return text if cell.claim_ok else text + " (claim broken)"


BATCH_SHORT = {"batched": "vmap ✓", "loop": "loop", "wrong": "✗ wrong", "error": "✗ error",
               "no inputs": "—", "no kernel": "no kernel", "device absent": "absent",
               "unchecked": "unchecked"}


def batch_text(result: Optional[BatchResult]) -> str:
    return "—" if result is None else BATCH_SHORT[result.status]


def taylor_text(result: Optional[TaylorResult]) -> str:
    if result is None:
        return "—"
    return {"verified": f"✓ {result.verified_order}", "wrong": f"✗ wrong at {result.verified_order + 1}",
            "no rule": "no rule", "constant": "const", "error": "✗ error"}.get(result.status, "—")


def to_markdown(report: CapabilityReport) -> str:
    devices = [d.name for d in report.devices]
    lines = [
        "# Capability matrix",
        "",
        f"Generated by `hograd capabilities --device {','.join(devices)} --format md --output "
        "docs/capabilities.md`; do not edit by hand.",
        f"Each cell is the result of running the op's checks to order {report.max_order} in "
        "float64 (seed "
        f"{report.seed}): order k is compared with a central difference of AD's order k−1, "
        "w.r.t. inputs and cotangents.",
        "",
        "Devices: " + "; ".join(
            f"**{d.name}** ({'present' if d.present else 'absent: ' + (d.absent_reason or '?')},"
            f" from plugin `{d.provider}`)" for d in report.devices),
        "",
        "Legend: ✓ k — verified to order k · ✗ — a check failed (the order given) · "
        "∅ — not differentiable (documented, and checked to raise) · 0 by definition — "
        "documented zero derivative, checked · xfail — documented expected failure · "
        "? — finite differences could not decide.",
        "Nodes: size of the k-th derivative graph (k = 1…) of the first sample after passes.",
        "Columns *device* are reverse mode (GradOperation nested k times); *device* fwd are "
        "forward mode (jvp nested k times, each w.r.t. every input and earlier tangent), "
        "checked the same way.",
        f"Taylor: the op's Taylor rule (ops.jet, ops.derivative, hograd.laplacian), its jet's "
        f"orders 1…{TAYLOR_ORDER} along a random path each checked on the CPU against a central "
        "difference of the order below · no rule — a jet through it raises NoTaylorRuleError · "
        "const — a non-float output, nothing to propagate.",
        "",
        "Columns *device* vmap: the op under vmap against a loop of unbatched calls, batch axes "
        "in front, at the back and on one input at a time · vmap ✓ — its batching rule agrees "
        "(one call for the batch) · loop — no rule: the fallback loop agrees (and warns) · "
        "no inputs — nothing to batch.",
        "",
        "| op | provider | " + " | ".join(f"{d} | {d} fwd | {d} vmap" for d in devices)
        + " | nodes | taylor |",
        "|---|---|" + "---|---|---|" * len(devices) + "---|---|",
    ]
    for row in report.ops:
        kind = " (composite)" if row.kind == "composite" else ""
        cells = " | ".join(f"{cell_text(row.cells[d])} | "
                           f"{cell_text(row.forward_cells[d]) if d in row.forward_cells else '—'}"
                           f" | {batch_text(row.batch_cells.get(d))}"
                           for d in devices)
        nodes = ", ".join(map(str, row.graph_nodes)) or "—"
        lines.append(f"| {row.op}{kind} | {row.provider} | {cells} | {nodes} | "
                     f"{taylor_text(row.taylor)} |")
    notes = [f"- **{row.op}** on {device}{mode}: {cell.status} — {cell.detail}"
             for row in report.ops
             for mode, cells in (("", row.cells), (" (forward mode)", row.forward_cells))
             for device, cell in cells.items()
             if cell.detail and cell.status not in ("device absent",)]
    notes += [f"- **{row.op}** on {device} (vmap): {cell.status} — {cell.detail}"
              for row in report.ops for device, cell in row.batch_cells.items()
              if cell.status in ("wrong", "error")]
    notes += [f"- **{row.op}** Taylor rule: {row.taylor.status} — {row.taylor.detail}"
              for row in report.ops if row.taylor and row.taylor.status in ("wrong", "error")]
    if notes:
        lines += ["", "## Notes", "", *notes]
    summary = {status: sum(row.cells[d].status == status for row in report.ops for d in devices)
               for status in STATUSES}
    forward = {status: sum(row.forward_cells[d].status == status for row in report.ops
                           for d in devices if d in row.forward_cells) for status in STATUSES}
    batching = {status: sum(row.batch_cells[d].status == status for row in report.ops
                            for d in devices if d in row.batch_cells)
                 for status in BATCH_STATUSES}
    lines += ["", "## Summary", "",
              "Reverse mode: " + ", ".join(f"{status}: {count}"
                                           for status, count in summary.items() if count) + ".",
              "",
              "Forward mode: " + ", ".join(f"{status}: {count}"
                                           for status, count in forward.items() if count) + ".",
              "",
              "vmap: " + ", ".join(f"{status}: {count}" for status, count in batching.items()
                                   if count) + ".",
              ""]
    return "\n".join(lines)


COLOURS = {"verified": "#b7e4c7", "wrong": "#f4a3a3", "not differentiable": "#dde3ea",
           "zero by definition": "#dde3ea", "expected failure": "#ffe8a3", "no kernel": "#eeeeee",
           "device absent": "#f5f5f5", "inconclusive": "#ffd6a5", "unchecked": "#eeeeee",
           "error": "#f4a3a3"}


def to_html(report: CapabilityReport) -> str:
    devices = [d.name for d in report.devices]
    head = "".join(f"<th title='{html.escape(d.absent_reason or 'present')}'>{d.name}</th>"
                   f"<th title='forward mode (jvp)'>{d.name} fwd</th>"
                   f"<th title='vmap against a loop of unbatched calls'>{d.name} vmap</th>"
                   for d in report.devices)
    body = []
    for row in report.ops:
        cells = []
        for device, cell in ((d, c) for d in devices
                             for c in (row.cells[d], row.forward_cells.get(d)) if c is not None):
            tip = html.escape(f"{cell.status}: {cell.detail}" if cell.detail else cell.status,
                              quote=True)
            border = "" if cell.claim_ok else " style='outline:3px solid #c00'"
            label = "absent" if cell.status == "device absent" else cell_text(cell)
            cells.append(f"<td class='c' title=\"{tip}\" bgcolor='{COLOURS[cell.status]}'"
                         f"{border}>{html.escape(label)}</td>")
            if cell is row.forward_cells.get(device) or (device not in row.forward_cells
                                                         and cell is row.cells[device]):
                batched = row.batch_cells.get(device)
                batch_tip = html.escape(f"{batched.status}: {batched.detail}" if batched
                                        else "not checked", quote=True)
                cells.append(f"<td class='c' title=\"{batch_tip}\">"
                             f"{html.escape(batch_text(batched))}</td>")
        nodes = ", ".join(map(str, row.graph_nodes)) or "—"
        taylor_tip = html.escape(f"{row.taylor.status}: {row.taylor.detail}" if row.taylor
                                 else "not checked", quote=True)
        body.append(f"<tr><th title=\"{html.escape(row.doc, quote=True)}\">{row.op}"
                    f"{' <small>(composite)</small>' if row.kind == 'composite' else ''}</th>"
                    f"<td>{html.escape(row.provider)}</td>{''.join(cells)}<td>{nodes}</td>"
                    f"<td class='c' title=\"{taylor_tip}\">{taylor_text(row.taylor)}</td></tr>")
    summary = " · ".join(
        f"<b>{d.name}</b>: " + (", ".join(
            f"{sum(row.cells[d.name].status == status for row in report.ops)} {status}"
            for status in STATUSES if any(row.cells[d.name].status == status
                                          for row in report.ops))
            if d.present else f"absent — {html.escape(d.absent_reason or '')}")
        for d in report.devices)
    legend = "".join(f"<span class='k' style='background:{colour}'>{status}</span>"
                     for status, colour in COLOURS.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>hograd capability matrix</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #ccc; padding: 3px 8px; }}
th {{ text-align: left; background: #fafafa; }} td.c {{ text-align: center; cursor: help; }}
.k {{ display: inline-block; padding: 2px 8px; margin: 2px; border-radius: 4px; }}
</style></head><body>
<h1>hograd capability matrix</h1>
<p>hograd {report.hograd_version}. Every cell is the result of running the op's checks to order
{report.max_order} in float64: order k against a central difference of AD's order k−1. Hover a
cell for its details; a red outline marks a claim that does not hold.</p>
<p>{summary}</p>
<p>{legend}</p>
<table><tr><th>op</th><th>provider</th>{head}<th>nodes (k = 1…)</th><th>taylor</th></tr>
{chr(10).join(body)}
</table></body></html>
"""
