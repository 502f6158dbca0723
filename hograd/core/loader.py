"""Finding plugins through entry points, one by one, so that a broken one breaks nothing else.

A plugin that fails to import, implements a hook that does not exist (a misspelled name), or
registers something invalid is recorded (name, distribution, version, error) and warned about;
``import hograd`` and every other plugin keep working. Only hograd's own ops and the cpu device
are essential: their failure raises. Plugins load in a fixed order (the essential ones first,
then all others, hograd's gpu and ascend devices among them, by name), so what a clash does never
depends on the order the environment lists them in. ``HOGRAD_DISABLE_PLUGINS=a,b`` skips plugins
by name (the essential ones cannot be disabled);
``HOGRAD_STRICT_PLUGINS=1`` raises instead of warning (the test suite runs that way).
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pluggy

from . import hookspecs
from .errors import PluginError

# without these hograd cannot work: their failure is an error, not a warning
ESSENTIAL_PLUGINS = ("builtin_ops", "cpu")
DISABLE_VARIABLE = "HOGRAD_DISABLE_PLUGINS"
STRICT_VARIABLE = "HOGRAD_STRICT_PLUGINS"


@dataclass
class PluginRecord:
    """What hograd knows about one plugin: where it came from and whether it loaded."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    status: str = "loaded"
    error: str | None = None
    hooks: list[str] = field(default_factory=list)
    provided: dict[str, list[str]] = field(default_factory=dict)
    # what this plugin replaced of another's, by name (it asked to, with override=True)
    overrides: list[str] = field(default_factory=list)


def strict() -> bool:
    return os.environ.get(STRICT_VARIABLE, "").strip().lower() in ("1", "true", "yes")


def disabled() -> set[str]:
    return {n.strip() for n in os.environ.get(DISABLE_VARIABLE, "").split(",") if n.strip()}


def load_order(name: str) -> tuple[int, str]:
    """Where a plugin stands in the order hooks run: the essential ones first, then by name."""
    essential = list(ESSENTIAL_PLUGINS)
    return (essential.index(name) if name in essential else len(essential), name)


def _source_tree_entry_points() -> list[metadata.EntryPoint]:
    """hograd's own entry points read from the pyproject.toml beside the package, for a source
    tree on sys.path that was never installed (no metadata): the one list stays pyproject's."""
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    try:
        import tomllib
        declared = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (ImportError, OSError, ValueError):
        return []
    group = declared.get("project", {}).get("entry-points", {}).get(
        hookspecs.ENTRY_POINT_GROUP, {})
    return [metadata.EntryPoint(name, value, hookspecs.ENTRY_POINT_GROUP)
            for name, value in group.items()]


def make_plugin_manager() -> tuple[pluggy.PluginManager, list[PluginRecord]]:
    """Load every ``hograd.plugins`` entry point (hograd's own are entry points too)."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    records: list[PluginRecord] = []
    blocked = disabled()
    entries: dict[str, metadata.EntryPoint] = {}
    for entry in metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP):
        entries.setdefault(entry.name, entry)
    if any(name not in entries for name in ESSENTIAL_PLUGINS):
        for entry in _source_tree_entry_points():
            entries.setdefault(entry.name, entry)
    missing = [name for name in ESSENTIAL_PLUGINS if name not in entries]
    if missing:
        raise PluginError(f"hograd's own plugins {missing} are not among the installed entry "
                          f"points ({hookspecs.ENTRY_POINT_GROUP}): hograd runs from a source "
                          f"tree that was never installed; install it with `pip install -e .`")
    for name in sorted(entries, key=load_order):
        entry = entries[name]
        dist = getattr(entry, "dist", None)
        record = PluginRecord(name, entry.value, dist.name if dist else None,
                              dist.version if dist else None)
        records.append(record)
        if name in blocked and name not in ESSENTIAL_PLUGINS:
            record.status = "disabled"
            record.error = f"disabled by {DISABLE_VARIABLE}"
            continue
        register(manager, record, entry.load)
    return manager, records


def register(manager: pluggy.PluginManager, record: PluginRecord, load) -> None:
    """Import and register one plugin; on failure record it, and warn (or raise when strict)."""
    try:
        plugin = load()
        manager.register(plugin, name=record.name)
        try:
            manager.check_pending()  # a hook implementation matching no spec: a misspelling
        except pluggy.PluginValidationError:
            manager.unregister(name=record.name)
            raise
    except Exception as err:  # a broken plugin must not break hograd
        fail(record, f"{type(err).__name__}: {err}", err)
        return
    record.hooks = sorted(impl.name for impl in manager.get_hookcallers(plugin) or ())


def fail(record: PluginRecord, error: str, cause: Exception | None = None) -> None:
    record.status = "failed"
    record.error = error
    message = f"hograd plugin {record.name!r} ({record.module}) failed: {error}"
    if record.name in ESSENTIAL_PLUGINS or strict():
        raise PluginError(message) from cause
    warnings.warn(message, RuntimeWarning, stacklevel=3)
