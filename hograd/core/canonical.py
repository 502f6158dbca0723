"""Sums of products: the simplifier's normal form for elementwise arithmetic.

A float value computed by additions, subtractions, negations, multiplications and divisions by
a constant is read as a polynomial in the values it was computed from that are not such
arithmetic — its *atoms* (a Sin, a MatMul, an input): a sum of terms, each a constant
coefficient times a product of atoms. Reading it so collects like terms across all the
arithmetic between atoms: ``a·c + b·c`` with constants a, b is ``(a+b)·c``, ``x + x`` is
``2·x``, ``2·x + 3·x`` is ``5·x``, and terms whose coefficients sum to 0 — ``x - x``, the
``cos x·eˣ`` terms of the 4th derivative of ``sin x·eˣ`` — are gone. A product of sums is
multiplied out while it stays small (``MAX_TERMS``), so that its terms can meet others; a
larger one is an atom of its consumers.

Where a value leaves the arithmetic (an output, or the input of any other op) its polynomial
is written back as nodes, factored greedily — equal coefficients once, a factor every term
shares, then the atom in the most terms (Horner's way: a polynomial in tanh is a few
multiply-adds in tanh²) — reusing any node the graph has for a part of it, whichever way that
node groups its terms (so ``x·y + z`` and ``z + y·x`` become one value). A rewrite that cancels
terms is taken when its nodes are fewer than those it leaves unread; one that only regroups
when they are at most ``REGROUPING_SHARE`` of them: regrouping changes the structure the next
derivative is built on, and small gains from it were measured to make later orders larger.
So the pass never grows a graph, and a value whose arithmetic has nothing to collect keeps its
nodes. It is deterministic (atoms are ordered by variable number), and its work on a value is
bounded by what the value could save (a rewrite stops when it has spent its budget), so it
stays about linear in the graph's size for a bounded ``MAX_TERMS``.

Floating point (the pass runs on derived graphs only: core/passes.simplify). Multiplying
out and regrouping changes rounding, as any reassociation does, and with it where a sum
overflows: a regrouped sum may overflow where the original grouping did not, or the other way
round. Two things are decided against IEEE. Terms are alike only when they are the same SSA
value (the same op of the same inputs, after CSE, so they hold the same bits), and alike
terms whose coefficients sum to exactly 0 are dropped, so ``x - x`` is 0 even where x is ±inf
or NaN, which IEEE makes NaN; and alike terms that overflow in opposite directions
(``2·x - x`` at x = inf: inf - inf) give the collected sum's value (inf) instead of NaN. Both
are the choice the transformers already make for symbolic zeros (a zero cotangent is not
multiplied by an infinite derivative, ``0·x → 0``); it is what lets a derivative graph shed
terms that cancel analytically, and where such a term overflows it makes the result right
rather than NaN (the 4th derivative of sin x·eˣ at x = 710 is -4·sin x·eˣ = -inf, not
inf - inf). JAX and XLA keep IEEE here; LLVM folds ``x - x`` only under ``nnan ninf``.
Coefficients stay finite: a constant that is ±inf or NaN is an atom, and a value whose
coefficients would overflow keeps its nodes.
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from .errors import HogradError
from .ir import ConstValue, Graph, Node, Var
from .registry import registry
from .roles import role

# a term: the numbers of the atoms multiplied, sorted (a repeated atom is a power); () is the
# constant term. A polynomial maps terms to their coefficients, finite and nonzero.
Term = tuple
Polynomial = dict

# a value whose polynomial would have more terms than this is an atom of its consumers: so
# multiplying out stays linear in the size of the graph, and a product of large sums is kept
MAX_TERMS = 64

# a rewrite that only regroups (no term cancelled) is taken when its nodes are at most this
# share of those it replaces: regrouping changes the structure the next derivative is built
# on, and small gains from it were measured to make later orders larger, not smaller
REGROUPING_SHARE = 0.75

# how many nodes a term a rewrite's walk over what it frees counts at most (see rewrite)
WALK_PER_TERM = 8

# a Constant is read as a filled value when its elements are all equal; beyond this size the
# comparison is not worth its time (such constants are data, not factors to fold)
_UNIFORM_CHECK_LIMIT = 4096


def filled_value(node: Node | None, fill_op: str | None = None):
    """The value every element of ``node``'s float output is known to hold, or None: a Fill's
    value, or a Constant's when all its elements are equal (compared with ==, so an array of
    NaNs is not; a single NaN is, as a Fill of NaN is). ``fill_op``: the fill role's op, if the
    caller has looked it up."""
    if node is None or not node.out.aval.dtype.is_float:
        return None
    if node.op == (fill_op or role("fill").name):
        value = node.attr_dict["value"]
        return None if isinstance(value, bool) else value
    if node.op != "Constant":
        return None
    array = node.attr_dict["value"].array
    if array.size == 0 or array.size > _UNIFORM_CHECK_LIMIT:
        return None
    first = array.flat[0]
    if array.size > 1 and not (array == first).all():
        return None
    return float(first)


def _exact(attrs: tuple) -> tuple:
    """Attributes keyed by what changes results: floats by their bits (0.0 == -0.0, but 1 / x
    tells them apart; a NaN equals itself here)."""
    return tuple((name, ("float", value.hex()) if isinstance(value, float) else value)
                 for name, value in attrs)


def value_key(op: str, inputs: tuple, attrs: tuple, commutative: bool = False) -> tuple:
    """What two nodes computing the same value share: the op, its inputs (in a fixed order for
    a commutative op, so a·b and b·a are one value) and its attributes, floats by their bits."""
    keyed = tuple(sorted(inputs, key=lambda var: var.id)) if commutative else tuple(inputs)
    return (op, keyed, _exact(attrs))


# ---- reading values as polynomials ---------------------------------------------------------------
def _finished(poly: Polynomial) -> Polynomial | None:
    """``poly`` without its zero terms; None (an atom) when a coefficient is not finite or the
    polynomial is too large to carry further."""
    kept = {term: c for term, c in poly.items() if c != 0.0}
    if len(kept) > MAX_TERMS or not all(math.isfinite(c) for c in kept.values()):
        return None
    return kept


def _sum(a: Polynomial, b: Polynomial, sign: float) -> Polynomial:
    total = dict(a)
    for term, c in b.items():
        total[term] = total.get(term, 0.0) + sign * c
    return total


def _scaled(poly: Polynomial, factor: float) -> Polynomial:
    return {term: factor * c for term, c in poly.items()}


def _constant_of(poly: Polynomial) -> float | None:
    """The constant a polynomial is, if it has no atom (the empty one is 0)."""
    if not poly:
        return 0.0
    return poly[()] if len(poly) == 1 and () in poly else None


def _product(a: Polynomial, b: Polynomial) -> Polynomial | None:
    for left, right in ((a, b), (b, a)):
        constant = _constant_of(left)
        if constant is not None:
            return _scaled(right, constant)
    if len(a) * len(b) > MAX_TERMS:
        return None
    total: Polynomial = {}
    for term_a, c_a in a.items():
        for term_b, c_b in b.items():
            term = tuple(sorted(term_a + term_b))
            total[term] = total.get(term, 0.0) + c_a * c_b
    return total


def _scaled_already(poly: Polynomial) -> bool:
    """Whether a polynomial has a coefficient other than 1 (a scale or a sign that a further
    one would meet)."""
    return any(c != 1.0 for c in poly.values())


class _Reader:
    """Each value's polynomial, read in one forward sweep (None: the value is an atom), and
    what reading it did: ``collected`` holds the values whose arithmetic (theirs or their
    inputs') met like terms or met constants with each other (``-(-x)``, ``2·(3·x)``),
    ``cancelled`` those where a term's coefficients summed to 0 (or a term met a zero). A value
    whose reading collected nothing would be written back as the same nodes."""

    def __init__(self) -> None:
        (self.add, self.subtract, self.multiply, self.negate, self.divide, self.broadcast,
         self.fill) = (role(name).name for name in ("add", "subtract", "multiply", "negate",
                                                   "divide", "broadcast_to", "fill"))
        self.arithmetic = {self.add, self.subtract, self.multiply, self.negate, self.divide,
                           self.broadcast}
        self.polynomials: dict[Var, Polynomial | None] = {}
        self.atoms: dict[int, Var] = {}   # by number
        self.collected: set[Var] = set()
        self.cancelled: set[Var] = set()

    def of(self, var: Var) -> Polynomial:
        poly = self.polynomials.get(var)
        if poly is not None:
            return poly
        self.atoms[var.id] = var
        return {(var.id,): 1.0}

    def read(self, node: Node) -> Polynomial | None:
        if not node.out.aval.dtype.is_float:
            return None
        value = filled_value(node, self.fill)
        if value is not None:
            return _finished({(): float(value)})
        if node.op not in self.arithmetic:
            return None
        a, *rest = [self.of(v) for v in node.inputs]
        b = rest[0] if rest else None
        if node.op in (self.add, self.subtract):
            poly = _sum(a, b, 1.0 if node.op == self.add else -1.0)
            # x + x alone is how 2·x is written back: only other meetings count (x - x does)
            collects = (node.op == self.subtract or node.inputs[0] is not node.inputs[1]) and \
                any(term in a for term in b)
        elif node.op == self.negate:
            poly = _scaled(a, -1.0)
            collects = _scaled_already(a)
        elif node.op == self.multiply:
            poly = _product(a, b)
            collects = poly is not None and (
                len(poly) < len(a) * len(b)
                or (len(a) == len(b) == 1 and _scaled_already(a) and _scaled_already(b))
                or (_constant_of(a) is not None and _scaled_already(b))
                or (_constant_of(b) is not None and _scaled_already(a)))
        elif node.op == self.broadcast:
            # the arithmetic broadcasts as it goes: a broadcast value is its input's polynomial
            # (the shape is the node's, given back where the value is written)
            poly, collects = a, False
        else:  # x / c: x times 1/c (one rounding more, as XLA's simplifier allows)
            divisor = _constant_of(b)
            poly = _scaled(a, 1.0 / divisor) if divisor else None
            collects = _scaled_already(a)
        if poly is None:
            return None
        finished = _finished(poly)
        if finished is None:
            return None
        if len(finished) < len(poly) or any(v in self.cancelled for v in node.inputs):
            self.cancelled.add(node.out)
            self.collected.add(node.out)
        elif collects or any(v in self.collected for v in node.inputs):
            self.collected.add(node.out)
        return finished


# ---- writing polynomials back as nodes ---------------------------------------------------------
class _Refused(Exception):
    """A rewrite is not worth it (over its budget) or not possible (an op refused the inputs
    it gave): the value keeps its nodes."""


class _Emission:
    """The nodes that compute one polynomial, made from the atoms and from nodes already in the
    graph before ``position`` (found by value, as CSE would merge them)."""

    def __init__(self, rewriter: "_Rewriter", position: int, target: Var, budget: int,
                 log: list) -> None:
        self.rewriter = rewriter
        self.position = position
        self.target = target
        # the most nodes worth adding (new ones, and dead ones read again); the work spent on a
        # rewrite stops there
        self.budget = budget
        self.added = 0
        self.log = log
        self.dtype = target.aval.dtype
        self.nodes: list[Node] = []
        self.made: dict[tuple, Var] = {}
        self.made_vars: set[Var] = set()

    def node(self, op: str, inputs: tuple, attrs: tuple = ()) -> Var:
        ops = self.rewriter.ops
        key = value_key(op, inputs, attrs, ops[op].commutative)
        found = self.made.get(key) or self.rewriter.existing(key, self.position)
        if found is not None:
            return found
        try:
            aval = ops[op].infer(*(v.aval for v in inputs), **dict(attrs))
        except HogradError:
            raise _Refused() from None
        var = Var(aval)
        self.nodes.append(Node(op, tuple(inputs), attrs, var))
        self.made[key] = var
        self.added += 1 + sum(self.rewriter.read(v, self.log) for v in inputs
                              if v not in self.made_vars)
        self.made_vars.add(var)
        if self.added >= self.budget + 1:
            raise _Refused()
        return var

    # the few nodes a polynomial is written with
    def constant(self, value: float) -> Var:
        return self.node("Constant", (), (("value", ConstValue(np.asarray(value,
                                                                           self.dtype.numpy))),))

    def filled(self, value: float) -> Var:
        aval = self.target.aval
        return self.node(self.rewriter.reader.fill, (), (("dtype", aval.dtype),
                                                         ("shape", aval.shape),
                                                         ("value", float(value))))

    def add(self, a: Var, b: Var) -> Var:
        return self.node(self.rewriter.reader.add, (a, b))

    def subtract(self, a: Var, b: Var) -> Var:
        return self.node(self.rewriter.reader.subtract, (a, b))

    def multiply(self, a: Var, b: Var) -> Var:
        return self.node(self.rewriter.reader.multiply, (a, b))

    def negate(self, a: Var) -> Var:
        return self.node(self.rewriter.reader.negate, (a,))

    def scaled(self, var: Var, factor: float) -> Var:
        """factor·var; x + x for 2·x (exact, and no constant)."""
        if factor == 1.0:
            return var
        if factor == -1.0:
            return self.negate(var)
        if factor == 2.0:
            return self.add(var, var)
        return self.multiply(var, self.constant(factor))

    def power(self, atom: int, exponent: int) -> Var:
        if exponent == 1:
            return self.rewriter.reader.atoms[atom]
        if exponent % 2 == 0:
            half = self.power(atom, exponent // 2)
            return self.multiply(half, half)
        return self.multiply(self.power(atom, exponent - 1), self.power(atom, 1))

    def product(self, term: Term) -> Var:
        powers = list(Counter(term).items())   # sorted atoms: equal ones are adjacent
        result = self.power(*powers[0])
        for atom, exponent in powers[1:]:
            result = self.multiply(result, self.power(atom, exponent))
        return result

    def signed_sum(self, items: list[tuple[int, Var]]) -> Var:
        """The sum of ±values: the positive ones added, then the others subtracted (a negation
        only when none is positive)."""
        ordered = sorted(items, key=lambda item: -item[0])   # stable: positive ones first
        sign, result = ordered[0]
        if sign < 0:
            result = self.negate(result)
        for sign, var in ordered[1:]:
            result = self.add(result, var) if sign > 0 else self.subtract(result, var)
        return result

    # the greedy factoring
    def signed(self, poly: Polynomial) -> tuple[int, Var]:
        """``(sign, var)`` with sign·var = poly: a polynomial whose coefficients are all
        negative is written as its negation, so the sign can float out to a subtraction; so is
        one whose negation the graph already has."""
        negated = _scaled(poly, -1.0)
        if all(c < 0 for c in poly.values()):
            return -1, self.positive(negated)
        found = self.rewriter.computing(poly, self.position)
        if found is not None:
            return 1, found
        found = self.rewriter.computing(negated, self.position)
        if found is not None:
            return -1, found
        if len(poly) - 1 > self.budget - self.added:
            # a sum of T terms the graph does not have takes T - 1 additions (fewer only where
            # it has parts of it): not worth working out when even that is over the budget
            raise _Refused()
        return 1, self.positive(poly, looked_up=True)

    def positive(self, poly: Polynomial, looked_up: bool = False) -> Var:
        """The nodes of a polynomial with at least one positive coefficient."""
        if not looked_up:
            found = self.rewriter.computing(poly, self.position)
            if found is not None:
                # a value the graph has already, however its nodes group the terms
                return found
        constant = poly.get((), 0.0)
        terms = {term: c for term, c in poly.items() if term}
        if not terms:
            return self.constant(constant)
        magnitudes = {abs(c) for c in poly.values()}
        if len(magnitudes) == 1 and magnitudes != {1.0}:
            # one magnitude: written once, outside
            magnitude = magnitudes.pop()
            return self.scaled(self.positive(_scaled(poly, 1.0 / magnitude)), magnitude)
        if len(poly) == 1:
            return self.product(next(iter(terms)))
        if not constant:
            common = _common_factor(list(terms))
            if common:
                return self.multiply(self.product(common),
                                     self.positive(_divided(terms, common)))
        atom, count = _most_shared_atom(terms)
        if count >= 2:
            exponent = min(term.count(atom) for term in terms if atom in term)
            factor = (atom,) * exponent
            inner = _divided({t: c for t, c in terms.items() if atom in t}, factor)
            rest = {t: c for t, c in poly.items() if atom not in t}
            sign, value = self.signed(inner)
            items = [(sign, self.multiply(self.power(atom, exponent), value))]
            if rest:
                items.append(self.signed(rest))
            return self.signed_sum(items)
        # no atom in two terms: a signed sum, terms of one magnitude scaled once together
        groups: dict[float, list[tuple[int, Term]]] = {}
        for term, c in terms.items():
            groups.setdefault(abs(c), []).append((1 if c > 0 else -1, term))
        items = []
        for magnitude, members in groups.items():
            sign = -1 if all(s < 0 for s, _ in members) else 1
            value = self.signed_sum([(s * sign, self.product(t)) for s, t in members])
            items.append((sign, self.scaled(value, magnitude)))
        if constant:
            items.append((1 if constant > 0 else -1, self.constant(abs(constant))))
        return self.signed_sum(items)

    def root(self, poly: Polynomial) -> Var:
        """The nodes of the target's polynomial, in the target's shape and dtype."""
        target = self.target.aval
        constant = _constant_of(poly)
        if constant is not None:
            # a value known ahead is filled, as the transformers fill a zero cotangent
            return self.filled(constant)
        found = self.rewriter.computing(poly, self.position)
        if found is not None and found.aval == target:
            return found
        magnitudes = {abs(c) for c in poly.values()}
        if len(magnitudes) == 1 and magnitudes != {1.0}:
            # -4·t: the sign goes into the one scale, not into a negation
            magnitude = magnitudes.pop()
            sign, value = self.signed(_scaled(poly, 1.0 / magnitude))
            result = self.scaled(value, sign * magnitude)
        else:
            sign, result = self.signed(poly)
            if sign < 0:
                result = self.negate(result)
        if result.aval.shape != target.shape:
            result = self.node(self.rewriter.reader.broadcast, (result,),
                               (("shape", target.shape),))
        if result.aval != target:
            raise _Refused()
        return result


def _polynomial_key(poly: Polynomial) -> frozenset:
    return frozenset(poly.items())


def _natural_shape(poly: Polynomial, atoms: dict[int, Var]) -> tuple:
    """The shape a polynomial's terms broadcast to."""
    shapes = {atoms[n].aval.shape for term in poly for n in term}
    if len(shapes) == 1:
        return shapes.pop()
    return tuple(np.broadcast_shapes(*shapes)) if shapes else ()


def _common_factor(terms: list[Term]) -> Term:
    """The atoms (with multiplicity) every term has."""
    common = terms[0]
    for term in terms[1:]:
        common = _intersection(common, term)
        if not common:
            break
    return common


def _intersection(a: Term, b: Term) -> Term:
    """The atoms two sorted terms share, with the smaller multiplicity (a sorted merge)."""
    shared, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            shared.append(a[i])
            i += 1
            j += 1
        elif a[i] < b[j]:
            i += 1
        else:
            j += 1
    return tuple(shared)


def _divided(poly: Polynomial, factor: Term) -> Polynomial:
    """Each term with the atoms of ``factor`` (which it has) taken out, once each."""
    return {_without(term, factor): c for term, c in poly.items()}


def _without(term: Term, factor: Term) -> Term:
    rest, j = [], 0
    for atom in term:
        if j < len(factor) and atom == factor[j]:
            j += 1
        else:
            rest.append(atom)
    return tuple(rest)


def _most_shared_atom(terms: dict) -> tuple[int, int]:
    """The atom the most terms have (the lowest-numbered of equals) and how many."""
    counts = Counter(atom for term in terms for atom in set(term))
    return min(counts.items(), key=lambda item: (-item[1], item[0]))


# ---- the pass ----------------------------------------------------------------------------------
class _Rewriter:
    """The graph being rewritten: who reads each value (to know what a rewrite leaves unread),
    which nodes are dead, and each value's replacement."""

    def __init__(self, graph: Graph) -> None:
        self.ops = registry().ops
        self.graph = graph
        self.reader = _Reader()
        self.defining: dict[Var, Node] = {}
        self.position: dict[Var, int] = {}
        self._table: dict[tuple, Var] | None = None
        # the arithmetic values by polynomial (a lookup checks the shape: a broadcast value is
        # not its polynomial's own)
        self.by_polynomial: dict[frozenset, list[Var]] = {}
        self.readers = Counter(v for node in graph.nodes for v in node.inputs)
        self.readers.update(graph.outputs)
        self.pinned = {node.out for node in graph.nodes if self.ops[node.op].effect}
        self.dead: set[Var] = set()
        self.replaced: dict[Var, list[Node]] = {}
        self.renamed: dict[Var, Var] = {}
        for index, node in enumerate(graph.nodes):
            self.defining[node.out] = node
            self.position[node.out] = index
            poly = self.reader.polynomials[node.out] = self.reader.read(node)
            if poly and node.op in self.reader.arithmetic:
                self.by_polynomial.setdefault(_polynomial_key(poly), []).append(node.out)

    def has_work(self) -> bool:
        """Whether anything could be rewritten: a value that collected something, or two
        values with one polynomial."""
        return bool(self.reader.collected) or any(len(alike) > 1
                                                  for alike in self.by_polynomial.values())

    def computing(self, poly: Polynomial, position: int) -> Var | None:
        """A live arithmetic value of the graph before ``position`` whose polynomial is
        ``poly``."""
        for var in self.by_polynomial.get(_polynomial_key(poly), ()):
            if (var not in self.dead and self.position[var] < position
                    and var.aval.shape == _natural_shape(poly, self.reader.atoms)):
                return var
        return None

    def existing(self, key: tuple, position: int) -> Var | None:
        """A live node of the graph computing ``key``'s value before ``position``."""
        if self._table is None:   # made when a rewrite first writes a node
            self._table = {}
            for node in self.graph.nodes:
                self._table.setdefault(value_key(node.op, node.inputs, node.attrs,
                                                 self.ops[node.op].commutative), node.out)
        var = self._table.get(key)
        if var is None or var in self.dead or self.position[var] >= position:
            return None
        return var

    def is_arithmetic(self, var: Var) -> bool:
        node = self.defining.get(var)
        return (node is not None and node.op in self.reader.arithmetic
                and self.reader.polynomials[var] is not None)

    def roots(self) -> set[Var]:
        """The arithmetic values some node reads as a value: outputs and inputs of other ops
        (or of a product too large to multiply out)."""
        roots = {v for v in self.graph.outputs if self.is_arithmetic(v)}
        for node in self.graph.nodes:
            if self.reader.polynomials[node.out] is None or node.op not in self.reader.arithmetic:
                roots.update(v for v in node.inputs if self.is_arithmetic(v))
        return roots

    def run(self) -> Graph:
        if not self.has_work():
            return self.graph
        roots = self.roots()
        for index in range(len(self.graph.nodes) - 1, -1, -1):
            node = self.graph.nodes[index]
            if node.out not in roots or node.out in self.dead or not self.readers[node.out]:
                continue
            if not self.rewrite(node, index):
                # kept as it is: what it reads must exist as values
                roots.update(v for v in node.inputs if self.is_arithmetic(v))
        return self.assemble()

    def rewrite(self, node: Node, index: int) -> bool:
        """Write the node's polynomial back as nodes, if that leaves the graph smaller.

        The old node is let go first, so the nodes only it kept alive are dead while the new
        ones are written: a value computed the long way is not reused when a short way exists,
        and an atom the new nodes read again (Sin, say) comes back to life at its cost."""
        if node.out not in self.reader.collected:
            # nothing collected: written back it would be the same nodes, but another node
            # may compute the same polynomial (x·y + z and z + y·x)
            return self.merge(node, index)
        log: list[tuple[str, Var]] = []
        # what dies with the node is counted up to WALK_PER_TERM nodes a term: beyond, the
        # budget it gives is more than a polynomial takes to write, and the walk would make
        # the pass quadratic on long chains (what is not counted is left to dead-code
        # elimination)
        allowance = WALK_PER_TERM * (len(self.reader.polynomials[node.out]) + 4)
        freed = 1
        for var in node.inputs:
            freed += self.release(var, log, allowance - freed)
        # a rewrite that cancels terms is taken when it leaves the graph smaller; one that only
        # regroups when it saves a quarter of what it replaces (REGROUPING_SHARE)
        limit = (freed - 1 if node.out in self.reader.cancelled
                 else int(freed * REGROUPING_SHARE))
        if limit <= 0:
            self.undo(log)
            return self.merge(node, index)
        emission = _Emission(self, index, node.out, budget=limit, log=log)
        try:
            result = emission.root(self.reader.polynomials[node.out])
        except _Refused:
            self.undo(log)
            return False
        added = emission.added
        if result not in emission.made_vars:
            # the value is one the graph has already: its readers read that instead
            for _ in range(self.readers[node.out]):
                added += self.read(result, log)
        if added > limit:
            self.undo(log)
            return False
        if result in emission.made_vars:
            self.replaced[node.out] = _defining(emission.nodes, result, node.out)
        else:
            self.renamed[node.out] = result
            self.dead.add(node.out)
        return True

    def merge(self, node: Node, index: int) -> bool:
        """Let the node's readers read an earlier value with the same polynomial and shape."""
        result = self.computing(self.reader.polynomials[node.out], index)
        if result is None or result.aval != node.out.aval:
            return False
        log: list[tuple[str, Var]] = []
        for _ in range(self.readers[node.out]):
            self.read(result, log)
        for var in node.inputs:
            self.release(var, log)
        self.renamed[node.out] = result
        self.dead.add(node.out)
        return True

    def read(self, var: Var, log: list) -> int:
        """One reader more for ``var``; a dead node comes back to life, and what it reads with
        it. Returns how many came back."""
        revived = 0
        pending = [var]
        while pending:
            var = pending.pop()
            self.readers[var] += 1
            log.append(("read", var))
            if var in self.dead:
                self.dead.discard(var)
                log.append(("alive", var))
                revived += 1
                pending.extend(self.defining[var].inputs)
        return revived

    def release(self, var: Var, log: list, allowance: int | None = None) -> int:
        """One reader less for ``var``; the nodes this leaves unread die, and what they read
        loses a reader in turn, until ``allowance`` have died (the rest stay, unread). Returns
        how many died."""
        freed = 0
        pending = [var]
        while pending:
            var = pending.pop()
            self.readers[var] -= 1
            log.append(("unread", var))
            if (self.readers[var] == 0 and (allowance is None or freed < allowance)
                    and var in self.defining
                    and var not in self.pinned and var not in self.dead):
                self.dead.add(var)
                log.append(("dead", var))
                freed += 1
                pending.extend(self.defining[var].inputs)
        return freed

    def undo(self, log: list) -> None:
        for action, var in reversed(log):
            if action == "read":
                self.readers[var] -= 1
            elif action == "unread":
                self.readers[var] += 1
            elif action == "dead":
                self.dead.discard(var)
            else:
                self.dead.add(var)

    def assemble(self) -> Graph:
        def name(var: Var) -> Var:
            while var in self.renamed:
                var = self.renamed[var]
            return var

        nodes: list[Node] = []
        for node in self.graph.nodes:
            if node.out in self.dead:
                continue
            for made in self.replaced.get(node.out, (node,)):
                inputs = tuple(name(v) for v in made.inputs)
                nodes.append(made if inputs == made.inputs
                             else Node(made.op, inputs, made.attrs, made.out))
        return Graph(self.graph.inputs, tuple(nodes), tuple(name(v) for v in self.graph.outputs))

    def changed(self) -> bool:
        return bool(self.replaced or self.renamed)


def _defining(nodes: list[Node], result: Var, out: Var) -> list[Node]:
    """The emitted nodes with ``result`` renamed ``out`` (the replaced node's variable, which
    its readers read)."""
    def name(var: Var) -> Var:
        return out if var is result else var
    return [Node(n.op, tuple(name(v) for v in n.inputs), n.attrs, name(n.out)) for n in nodes]


def collect_terms(graph: Graph) -> Graph:
    """Rewrite each arithmetic value a node reads as its sum of products, collected, cancelled
    and refactored, where that makes the graph smaller (see the module's docstring). Returns
    ``graph`` itself when nothing was rewritten."""
    rewriter = _Rewriter(graph)
    result = rewriter.run()
    return result if rewriter.changed() else graph
