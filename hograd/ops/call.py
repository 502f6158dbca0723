"""Calling ops from Python: the ``ops.Sin()`` classes, the ``ops.sin`` functions and ``F``.

Positional arguments after an op's tensor inputs fill its call-time attributes in order
(``ops.ReduceSum(keep_dims=True)(x, 1)`` sets ``axis=1``); keywords set any attribute.
"""
from __future__ import annotations

from typing import Any

from ..core.dispatch import apply
from ..core.errors import OpInputError, UnknownOpError
from ..core.opdef import OpDef, did_you_mean
from ..core.registry import registry


def call_op(opdef: OpDef, args: tuple, attrs: dict[str, Any], validated: bool = False):
    """Split ``args`` into tensor inputs and call-time attributes, then apply the op.

    ``validated``: ``attrs`` already went through the op's schema (and no call-time attribute
    is among ``args``)."""
    if opdef.variadic and args and isinstance(args[0], (tuple, list)):
        if len(args) > 1 + len(opdef.call_attributes):
            raise OpInputError(
                f"{opdef.name} takes its tensors as one tuple or list"
                f"{' and then ' + ', '.join(opdef.call_attributes) if opdef.call_attributes else ''}"
                f"; its other attributes go to the constructor: ops.{opdef.name}(...)((x, y)), "
                f"e.g. ops.Concat(axis=0)((x, y)); got {len(args)} arguments")
        # MindSpore passes variadic inputs as one tuple: Concat()((x, y))
        args = tuple(args[0]) + tuple(args[1:])
    n_inputs = len(args) - len(opdef.call_attributes) if opdef.variadic else len(opdef.inputs)
    inputs, extra = args[:n_inputs], args[n_inputs:]
    if len(extra) > len(opdef.call_attributes):
        then = (f"then the attribute(s) {', '.join(opdef.call_attributes)}"
                if opdef.call_attributes else "no positional attributes")
        raise OpInputError(f"{opdef.name} takes {len(opdef.inputs)} tensor input(s) "
                           f"({', '.join(opdef.inputs)}) and {then}; got {len(args)} arguments")
    merged = dict(attrs)
    for name, value in zip(opdef.call_attributes, extra):
        if name in merged:
            raise OpInputError(f"{opdef.name}: attribute {name!r} given twice")
        merged[name] = value
    return apply(opdef, inputs, merged, validated=validated and not extra)


class Primitive:
    """Base of the op classes: ``ops.MatMul(transpose_b=True)(a, b)``.

    Construction checks the attribute names; an op without call-time attributes has its
    values validated then too, once, and its calls skip validation.
    """

    op_name: str = ""

    def __init__(self, *args: Any, **attrs: Any) -> None:
        opdef = registry().op(self.op_name)
        # positional arguments fill the construction attributes in schema order, as in
        # MindSpore: BroadcastTo((2, 3)), ReduceSum(True), Softmax(-1)
        names = [n for n in (opdef.attributes.model_fields if opdef.attributes else ())
                 if n not in opdef.call_attributes]
        if len(args) > len(names):
            raise OpInputError(f"{opdef.name}() takes at most {len(names)} positional "
                               f"attribute(s) {tuple(names)}, got {len(args)}")
        construction = dict(zip(names, args))
        for name, value in attrs.items():
            if name in construction:
                raise OpInputError(f"{opdef.name}: attribute {name!r} given twice")
            construction[name] = value
        # validate now what is known now; call-time attributes may still come
        known = {k: v for k, v in construction.items() if k not in opdef.call_attributes}
        if opdef.attributes is not None:
            fields = set(opdef.attributes.model_fields)
            unknown = sorted(set(construction) - fields)
            if unknown:
                raise OpInputError(f"{opdef.name}: unknown attribute(s) {unknown}; it has "
                                   f"{sorted(fields) or 'none'}{did_you_mean(unknown, fields)}")
        elif known:
            raise OpInputError(f"{opdef.name} takes no attributes, got {sorted(known)}")
        self.opdef = opdef
        self.attrs = construction
        self._validated = None if opdef.call_attributes else opdef.make_attrs(construction)

    def __call__(self, *args: Any, **attrs: Any):
        if self._validated is not None and not attrs:
            return call_op(self.opdef, args, self._validated, validated=True)
        return call_op(self.opdef, args, {**self.attrs, **attrs})

    def __repr__(self) -> str:
        attrs = ", ".join(f"{k}={v!r}" for k, v in self.attrs.items())
        return f"{self.op_name}({attrs})"

    def __reduce__(self):
        # by name and attributes: the class is made at run time and the record holds functions
        return _rebuild_primitive, (self.op_name, dict(self.attrs))


def _rebuild_primitive(name: str, attrs: dict) -> "Primitive":
    return primitive_class(name)(**attrs)


_classes: dict[str, type] = {}


def primitive_class(name: str) -> type:
    """The user-facing class of op ``name`` (made once, on first use)."""
    opdef = registry().op(name)
    cls = _classes.get(name)
    if cls is None:
        cls = _classes[name] = type(name, (Primitive,), {
            "op_name": opdef.name, "__doc__": opdef.doc or f"The {opdef.name} op.",
            "__module__": "hograd.ops"})
    return cls


def is_exposed(opdef: OpDef) -> bool:
    """Ops the tracer emits (Constant, Guard, CellCall, PrintTensors) and adjoints only
    derivatives use are not for users: hograd.ops, P and F leave them out."""
    return opdef.exposed and not opdef.internal


def exposed_names(table: dict[str, OpDef]) -> list[str]:
    return sorted(name for name, opdef in table.items() if is_exposed(opdef))


def functional_table() -> dict[str, OpDef]:
    """Lower-case function names of the registered ops."""
    return registry().functions


_functions: dict[tuple[int, str], Any] = {}


def functional(name: str):
    """The lower-case function of an op: ``ops.sin(x)``, ``ops.reduce_sum(x, axis=1)``."""
    opdef = functional_table().get(name)
    if opdef is None:
        raise UnknownOpError(f"no op function named {name!r}")
    key = (id(opdef), name)
    function = _functions.get(key)
    if function is None:
        def function(*args: Any, **attrs: Any):
            return call_op(opdef, args, attrs)

        function.__name__ = name
        function.__doc__ = opdef.doc
        _functions[key] = function
    return function


class _Functions:
    """``F.cos(x)``: the op functions, for backward rules written inside hograd."""

    def __getattr__(self, name: str):
        fn = functional(name)
        setattr(self, name, fn)
        return fn


F = _Functions()
