"""``Cell``: the unit of a network, MindSpore style.

Subclasses define ``construct``; calling the cell runs it. In ``GRAPH_MODE`` a top-level call
traces ``construct`` once per input signature, compiles the graph and runs the compiled form
after that; in ``PYNATIVE_MODE`` ``construct`` runs op by op. Inside a trace (another Cell's
graph, or a gradient function) the cell is inlined into that trace. A cell with a ``bprop``
method becomes one node whose derivative is that ``bprop``.
"""
from __future__ import annotations

from typing import Any, Iterator

from ..core.cache import StateVersioned, VariantCache, note_read
from ..core.context import GRAPH_MODE, current_mode
from ..core.compiled import call_compiled
from ..core.dispatch import apply
from ..core.errors import TracingError
from ..core.passes import simplify
from ..core.pytree import TENSOR, flatten, unflatten
from ..core.trace import Trace, current_trace
from ..core.tensor import Parameter, Tensor


class Cell(StateVersioned):
    """Base class of networks: assign Parameters and sub-Cells as attributes, define construct.

    >>> class Net(nn.Cell):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = Parameter(Tensor([2.0]), name="w")
    ...     def construct(self, x):
    ...         return x * self.w
    """

    def __init__(self, auto_prefix: bool = True, flags: Any = None) -> None:
        # auto_prefix: parameter paths (parameters_and_names) always carry the attribute path
        # here, so MindSpore's switch has nothing to turn off; flags are kept (get_flags)
        object.__setattr__(self, "_params", {})
        object.__setattr__(self, "_cells", {})
        object.__setattr__(self, "_graphs", VariantCache())
        object.__setattr__(self, "training", False)
        object.__setattr__(self, "_flags", dict(flags or {}))
        # MindSpore's auto_prefix: a sub-cell's Parameters are named with its attribute path
        # ("dense.weight") unless the parent opts out (wrappers such as TrainOneStepCell)
        object.__setattr__(self, "_auto_prefix", bool(auto_prefix))

    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_params")
        if params is None:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() in __init__ "
                                 f"before assigning attributes")
        cells = self.__dict__["_cells"]
        params.pop(name, None)
        cells.pop(name, None)
        if isinstance(value, Parameter):
            if value.name is None:
                value.name = name
            params[name] = value
        elif isinstance(value, Cell):
            cells[name] = value
            if self.__dict__.get("_auto_prefix", True):
                # as MindSpore: the attribute name and the path inside the sub-cell (so a cell
                # assigned twice is renamed, not prefixed twice)
                for path, param in value.parameters_and_names():
                    param.name = f"{name}.{path}"
        object.__setattr__(self, name, value)
        # a trace may have read the old value as a constant
        self.changed()

    def __delattr__(self, name: str) -> None:
        self.__dict__["_params"].pop(name, None)
        self.__dict__["_cells"].pop(name, None)
        object.__delattr__(self, name)
        self.changed()

    def construct(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define construct(...)")

    # ---- calling --------------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if current_trace() is not None:
            note_read(self)  # the graph being built may bake this cell's attributes in
            if self._has_bprop():
                if kwargs:
                    raise TracingError(f"{type(self).__name__} has a bprop: call it with "
                                       f"positional tensors only")
                return self._call_with_bprop(args)
            return self.construct(*args, **kwargs)
        if current_mode() != GRAPH_MODE:
            return self.construct(*args, **kwargs)
        # past StateVersioned's __getattribute__ (no graph is being built here): these are the
        # Cell's own bookkeeping, read on every call
        attribute = object.__getattribute__
        return call_compiled(attribute(self, "_graphs"), attribute(self, "_construct_read"),
                             args, kwargs)

    def _has_bprop(self) -> bool:
        return callable(getattr(type(self), "bprop", None))

    def _construct_read(self, *args: Any, **kwargs: Any) -> Any:
        note_read(self)  # the compiled graph bakes this cell's attributes in
        return self.construct(*args, **kwargs)

    def _call_with_bprop(self, args: tuple) -> Any:
        from ..core.cell_call import unpack_outputs
        for index, arg in enumerate(args):
            if not isinstance(arg, Tensor):
                raise TracingError(f"{type(self).__name__} has a bprop: its inputs must be "
                                   f"Tensors, argument {index} is a {type(arg).__name__}")
        with Trace(symbolic=current_trace().symbolic) as trace:
            inner = [trace.new_input(t._aval, t._value, t._device) for t in args]
            result = self.construct(*inner)
            out_leaves, out_structure = flatten(result)
            if not out_leaves:
                raise TracingError(f"{type(self).__name__} has a bprop, so construct must return "
                                   f"a Tensor or a tuple of Tensors, not {type(result).__name__}")
            closed = trace.finish(out_leaves)
        graph = simplify(closed.graph, collect=False)
        node = apply("CellCall", (*args, *closed.captured),
                     {"graph": graph, "cell": self, "n_args": len(args),
                      "out_structure": out_structure})
        if out_structure == TENSOR:
            return node
        # several outputs are packed in the node's one output (see core/cell_call.py)
        return unflatten(out_structure, unpack_outputs(node, [v.aval for v in graph.outputs]))

    # ---- parameters and sub-cells ---------------------------------------------------------------
    def cells_and_names(self, prefix: str = "") -> Iterator[tuple[str, "Cell"]]:
        """This cell and every sub-cell, each once, with its attribute path."""
        return self._walk(prefix, honour_auto_prefix=False)

    def parameters_and_names(self, name_prefix: str = "",
                             expand: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Every Parameter (of sub-cells too, when ``expand``), each once, with its path."""
        seen: set[int] = set()
        cells = self._parameter_prefixes(name_prefix) if expand else [(name_prefix, self)]
        for cell_name, cell in cells:
            for attr, param in cell._params.items():
                if id(param) not in seen:
                    seen.add(id(param))
                    yield (f"{cell_name}.{attr}" if cell_name else attr), param

    def _parameter_prefixes(self, prefix: str) -> Iterator[tuple[str, "Cell"]]:
        """Each cell once with the prefix of its Parameters' paths: its attribute path, where
        a cell made with ``auto_prefix=False`` adds nothing for its children."""
        return self._walk(prefix, honour_auto_prefix=True)

    def _walk(self, prefix: str, honour_auto_prefix: bool) -> Iterator[tuple[str, "Cell"]]:
        """Breadth first, each cell once, with its path (``auto_prefix=False`` cells adding
        nothing for their children when ``honour_auto_prefix``)."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, cell = stack.pop(0)
            if id(cell) in seen:
                continue
            seen.add(id(cell))
            yield name, cell
            adds = not honour_auto_prefix or cell.__dict__.get("_auto_prefix", True)
            for child_name, child in cell._cells.items():
                child_prefix = (f"{name}.{child_name}" if name else child_name) if adds else name
                stack.append((child_prefix, child))

    def get_parameters(self, expand: bool = True) -> Iterator[Parameter]:
        for _, param in self.parameters_and_names(expand=expand):
            yield param

    def trainable_params(self, recurse: bool = True) -> list[Parameter]:
        """The Parameters with ``requires_grad``, in registration order."""
        return [p for p in self.get_parameters(expand=recurse) if p.requires_grad]

    def untrainable_params(self, recurse: bool = True) -> list[Parameter]:
        return [p for p in self.get_parameters(expand=recurse) if not p.requires_grad]

    def name_cells(self) -> dict[str, "Cell"]:
        return dict(self._cells)

    def set_train(self, mode: bool = True) -> "Cell":
        for _, cell in self.cells_and_names():
            object.__setattr__(cell, "training", mode)
            cell.changed()
        return self

    def set_grad(self, requires_grad: bool = True) -> "Cell":
        """Accepted for MindSpore code: every Cell here can be differentiated, so no-op."""
        return self

    # MindSpore's compiler flags (fp16, defer_inline, ...): kept so get_flags() shows them,
    # they change nothing here and so do not invalidate compiled graphs
    def add_flags(self, **flags: Any) -> "Cell":
        """Record MindSpore compiler flags on this cell; they have no effect in hograd."""
        self._flags.update(flags)
        return self

    def add_flags_recursive(self, **flags: Any) -> "Cell":
        """``add_flags`` on this cell and every sub-cell."""
        for _, cell in self.cells_and_names():
            cell.add_flags(**flags)
        return self

    def get_flags(self) -> dict[str, Any]:
        """The flags recorded by ``add_flags``."""
        return dict(self._flags)

    def init_parameters_data(self, auto_parallel_mode: bool = False) -> "Cell":
        """Accepted for MindSpore code: Parameters here hold their values from the start."""
        return self

    # ---- pickling and copying: Parameters and sub-cells, never compiled graphs ----------------
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_graphs", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        object.__setattr__(self, "_graphs", VariantCache())

    def __repr__(self) -> str:
        children = "".join(f"\n  ({n}): {type(c).__name__}" for n, c in self._cells.items())
        return f"{type(self).__name__}<{children}>" if children else f"{type(self).__name__}<>"
