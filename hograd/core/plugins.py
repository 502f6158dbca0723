"""Finding plugins through entry points and turning their hook results into the registry.

A plugin that fails to import is recorded (name, error) and warned about; ``import hograd`` and
every other plugin keep working.
"""
from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass, field
from importlib import metadata

import pluggy

from . import hookspecs
from .errors import PluginError

# Loaded even from a source tree that was never installed (no entry-point metadata there).
BUILTIN_PLUGINS = {"builtin_ops": "hograd.ops.plugin", "cpu": "hograd.plugins.cpu"}


@dataclass
class PluginRecord:
    """What hograd knows about one plugin: where it came from and whether it loaded."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    status: str = "loaded"
    error: str | None = None
    provided: dict[str, list[str]] = field(default_factory=dict)


def make_plugin_manager() -> tuple[pluggy.PluginManager, list[PluginRecord]]:
    """Load every ``hograd.plugins`` entry point, then the built-ins the metadata did not name."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    records: list[PluginRecord] = []
    seen: set[str] = set()
    for entry in metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP):
        if entry.name in seen:
            continue
        seen.add(entry.name)
        dist = getattr(entry, "dist", None)
        record = PluginRecord(entry.name, entry.value, dist.name if dist else None,
                              dist.version if dist else None)
        records.append(record)
        _register(manager, record, entry.load)
    for name, module in BUILTIN_PLUGINS.items():
        if name not in seen:
            record = PluginRecord(name, module, "hograd")
            records.append(record)
            _register(manager, record, lambda module=module: importlib.import_module(module))
    return manager, records


def _register(manager: pluggy.PluginManager, record: PluginRecord, load) -> None:
    try:
        manager.register(load(), name=record.name)
    except Exception as err:  # a broken plugin must not break hograd
        record.status = "failed"
        record.error = f"{type(err).__name__}: {err}"
        if record.name in BUILTIN_PLUGINS:
            raise PluginError(f"built-in plugin {record.name} failed to load: {record.error}") from err
        warnings.warn(f"hograd plugin {record.name!r} ({record.module}) failed to load: "
                      f"{record.error}", RuntimeWarning, stacklevel=2)
