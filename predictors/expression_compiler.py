"""The expression compiler: an allow-list walk over the parsed tree that type-checks each
node against the schema and turns it into nested closures (predictors/expressions.py)."""

from __future__ import annotations

import ast
import difflib
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from predictors.expression_types import (
    BOOL,
    FUNCTIONS,
    LIST,
    MAX_DEPTH,
    NUMBER,
    TEXT,
    ExpressionError,
    Reader,
    Variable,
    hint,
)


class Node:
    __slots__ = ("type", "item", "fn", "const", "value")

    def __init__(
        self,
        type_: str,
        fn: Reader,
        item: str | None = None,
        const: bool = False,
        value: Any = None,
    ) -> None:
        self.type, self.fn, self.item, self.const, self.value = type_, fn, item, const, value


def _both(a: Reader, b: Reader) -> Reader:
    return lambda c: a(c) and b(c)


def _either(a: Reader, b: Reader) -> Reader:
    return lambda c: a(c) or b(c)


def constant(type_: str, value: Any, item: str | None = None) -> Node:
    return Node(type_, lambda _c: value, item, True, value)


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_REFUSED = {
    ast.Attribute: ("attribute access (a.b) is not allowed", "use a variable name"),
    ast.Subscript: ("indexing (a[0]) is not allowed", "use `x in list` to test membership"),
    ast.Lambda: ("lambda is not allowed", ""),
    ast.IfExp: ("`x if c else y` is not allowed", "write two actions, or use min()/max()"),
    ast.Dict: ("dictionaries are not allowed", ""),
    ast.Set: ("sets are not allowed", "use a [list]"),
    ast.Tuple: ("tuples are not allowed", "use a [list]"),
    ast.JoinedStr: ("f-strings are not allowed", 'use a plain "text"'),
    ast.NamedExpr: ("`:=` is not allowed", ""),
    ast.Starred: ("`*` unpacking is not allowed", ""),
    **dict.fromkeys(
        (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp),
        ("comprehensions are not allowed", ""),
    ),
}


class Compiler:
    def __init__(
        self,
        source: str,
        variables: Mapping[str, str | Variable],
        constants: Mapping[str, Any],
    ) -> None:
        self.source = source
        self.variables = variables
        self.constants = constants
        self.readers: dict[str, Reader] = {}

    def fail(self, node: ast.AST | None, reason: str, fix: str = "") -> ExpressionError:
        return ExpressionError(self.source, _column(self.source, node), reason, fix)

    def compile(self, node: ast.AST, depth: int = 0) -> Node:
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nested more than {MAX_DEPTH} levels deep", "simplify it")
        handler = _HANDLERS.get(type(node))
        if handler is not None:
            return handler(self, node, depth)
        reason, fix = _REFUSED.get(type(node), (f"{type(node).__name__} is not allowed", ""))
        raise self.fail(node, reason, fix)

    def literal(self, node: ast.Constant, depth: int) -> Node:
        value = node.value
        if isinstance(value, bool):
            return constant(BOOL, value)
        if isinstance(value, int | float):
            if not math.isfinite(value):
                raise self.fail(node, "the number is too large", "use a finite number")
            return constant(NUMBER, value)
        if isinstance(value, str):
            return constant(TEXT, value)
        if value is None:
            raise self.fail(node, "None is not allowed", 'compare with "" or 0 instead')
        raise self.fail(node, f"{type(value).__name__} literals are not allowed")

    def name(self, node: ast.Name, depth: int) -> Node:
        name = node.id
        if name in ("true", "True"):
            return constant(BOOL, True)
        if name in ("false", "False"):
            return constant(BOOL, False)
        spec = self.variables.get(name)
        if spec is None:
            if name in FUNCTIONS:
                raise self.fail(node, f"{name} is a function", f"call it: {name}(...)")
            close = difflib.get_close_matches(name, list(self.variables), n=1)
            fix = f"did you mean {close[0]}?" if close else "see docs/actions.md for the names"
            raise self.fail(node, f"unknown variable {name!r}", fix)
        type_ = spec if isinstance(spec, str) else spec.type
        item = TEXT if type_ == LIST else None
        if name in self.constants:
            return constant(type_, self.constants[name], item)
        read = spec.read if isinstance(spec, Variable) and spec.read else operator.attrgetter(name)
        self.readers.setdefault(name, read)
        return Node(type_, read, item)

    def sequence(self, node: ast.List, depth: int) -> Node:
        items = [self.compile(e, depth + 1) for e in node.elts]
        kinds = {i.type for i in items}
        if LIST in kinds:
            raise self.fail(node, "lists of lists are not allowed")
        if len(kinds) > 1:
            raise self.fail(
                node, f"a list mixes {' and '.join(sorted(kinds))}", "keep one type in a list"
            )
        item = kinds.pop() if kinds else None
        if all(i.const for i in items):
            return constant(LIST, [i.value for i in items], item)
        fns = tuple(i.fn for i in items)
        return Node(LIST, lambda c: [f(c) for f in fns], item)

    def boolop(self, node: ast.BoolOp, depth: int) -> Node:
        parts = [self.expect(v, BOOL, depth, "and/or") for v in node.values]
        absorbing = not isinstance(node.op, ast.And)  # false ends an `and`, true an `or`
        for i, part in enumerate(parts):
            # Python stops at the first absorbing constant; what comes before it may still
            # raise, so only a constant prefix folds - unless pinned for analysis, where
            # "false or an error" both mean "never eligible".
            if (
                part.const
                and part.value is absorbing
                and (self.constants or all(p.const for p in parts[:i]))
            ):
                return constant(BOOL, absorbing)
        fn = parts[-1].fn
        for part in reversed(parts[:-1]):  # nested pairs: cheaper than all()/any() per call
            fn = _both(part.fn, fn) if absorbing is False else _either(part.fn, fn)
        return self.fold(BOOL, fn, parts)

    def unary(self, node: ast.UnaryOp, depth: int) -> Node:
        if isinstance(node.op, ast.Not):
            inner = self.expect(node.operand, BOOL, depth, "not")
            f = inner.fn
            return self.fold(BOOL, lambda c: not f(c), [inner])
        if isinstance(node.op, ast.USub | ast.UAdd):
            inner = self.expect(node.operand, NUMBER, depth, "a sign")
            f = inner.fn
            fn: Reader = (lambda c: -f(c)) if isinstance(node.op, ast.USub) else (lambda c: +f(c))
            return self.fold(NUMBER, fn, [inner])
        raise self.fail(node, "the operator ~ is not allowed", "use not")

    def binop(self, node: ast.BinOp, depth: int) -> Node:
        op = _ARITHMETIC.get(type(node.op))
        if op is None:
            fix = "multiply instead: x * x" if isinstance(node.op, ast.Pow) else "use + - * /"
            raise self.fail(node, "only + - * / are allowed", fix)
        left = self.expect(node.left, NUMBER, depth, "arithmetic")
        right = self.expect(node.right, NUMBER, depth, "arithmetic")
        lf, rf = left.fn, right.fn
        return self.fold(NUMBER, lambda c: op(lf(c), rf(c)), [left, right])

    def compare(self, node: ast.Compare, depth: int) -> Node:
        nodes = [self.compile(node.left, depth + 1)]
        places: list[ast.AST] = [node.left]
        ops = []
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            fn = _COMPARE.get(type(op))
            if fn is None:
                raise self.fail(comparator, "`is` is not allowed", "use == or !=")
            right = self.compile(comparator, depth + 1)
            self.check_compare(op, nodes[-1], right, places[-1], comparator)
            if (
                len(node.ops) == 1
                and isinstance(op, ast.In | ast.NotIn)
                and right.const
                and (right.type == LIST)
            ):
                right = constant(LIST, frozenset(right.value), right.item)  # literals: hashable
            nodes.append(right)
            places.append(comparator)
            ops.append(fn)
        fns = tuple(n.fn for n in nodes)
        if len(ops) == 1:
            op1, lf, rf = ops[0], fns[0], fns[1]
            if nodes[1].const:
                k = nodes[1].value
                return self.fold(BOOL, lambda c: op1(lf(c), k), nodes)
            return self.fold(BOOL, lambda c: op1(lf(c), rf(c)), nodes)
        chain = tuple(zip(ops, fns[1:], strict=True))

        def chained(c: Any) -> bool:
            left = fns[0](c)
            for op_, right_fn in chain:
                right = right_fn(c)
                if not op_(left, right):
                    return False
                left = right
            return True

        return self.fold(BOOL, chained, nodes)

    def check_compare(
        self, op: ast.cmpop, left: Node, right: Node, at_left: ast.AST, at_right: ast.AST
    ) -> None:
        if isinstance(op, ast.In | ast.NotIn):
            if right.type == TEXT and left.type == TEXT:
                return
            if right.type != LIST:
                raise self.fail(
                    at_right,
                    f"`in` needs a list or text on its right, got {right.type}",
                    'write x in ["a", "b"]',
                )
            if right.item is not None and left.type != right.item:
                raise self.fail(at_left, f"a {left.type} is never in a list of {right.item}")
        elif isinstance(op, ast.Eq | ast.NotEq):
            if left.type != right.type:
                raise self.fail(
                    at_left,
                    f"cannot compare {left.type} with {right.type}",
                    hint(left.type if right.type == NUMBER else right.type),
                )
        elif left.type != NUMBER or right.type != NUMBER:
            bad, at = (left.type, at_left) if left.type != NUMBER else (right.type, at_right)
            raise self.fail(at, f"< <= > >= compare numbers, got {bad}", hint(bad))

    def call(self, node: ast.Call, depth: int) -> Node:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS:
            close = difflib.get_close_matches(name or "", FUNCTIONS, n=1)
            fix = f"did you mean {close[0]}?" if close else f"use {', '.join(FUNCTIONS)}"
            raise self.fail(node, f"function {name or '(expression)'} is not allowed", fix)
        if node.keywords:
            raise self.fail(node, f"{name}() takes no keyword arguments")
        args = [self.expect(a, NUMBER, depth, f"{name}()") for a in node.args]
        fns = tuple(a.fn for a in args)
        if name == "abs":
            if len(args) != 1:
                raise self.fail(node, "abs() takes exactly one number")
            f = fns[0]
            return self.fold(NUMBER, lambda c: abs(f(c)), args)
        if len(args) < 2:
            raise self.fail(node, f"{name}() takes two or more numbers")
        pick = min if name == "min" else max
        if len(fns) == 2:
            f0, f1 = fns
            return self.fold(NUMBER, lambda c: pick(f0(c), f1(c)), args)
        return self.fold(NUMBER, lambda c: pick(*[f(c) for f in fns]), args)

    def expect(self, node: ast.AST, type_: str, depth: int, what: str) -> Node:
        compiled = self.compile(node, depth + 1)
        if compiled.type != type_:
            raise self.fail(
                node, f"{what} needs a {type_}, got {compiled.type}", hint(compiled.type)
            )
        return compiled

    def fold(self, type_: str, fn: Reader, parts: list[Node]) -> Node:
        """Compute constant parts once, at load; a part that fails stays for run time,
        as in Python, where `false and 1 / 0 > 1` is simply false."""
        if all(p.const for p in parts):
            try:
                return constant(type_, fn(None))
            except (ArithmeticError, ValueError):
                pass
        return Node(type_, fn)


_HANDLERS: dict[type[ast.AST], Callable[[Compiler, Any, int], Node]] = {
    ast.Constant: Compiler.literal,
    ast.Name: Compiler.name,
    ast.List: Compiler.sequence,
    ast.BoolOp: Compiler.boolop,
    ast.UnaryOp: Compiler.unary,
    ast.BinOp: Compiler.binop,
    ast.Compare: Compiler.compare,
    ast.Call: Compiler.call,
}


def _column(source: str, node: ast.AST | None) -> int:
    """1-based character column; ast counts UTF-8 bytes, and the texts are Russian."""
    lineno, offset = getattr(node, "lineno", None), getattr(node, "col_offset", None)
    if lineno is None or offset is None:
        return 1
    line = source.splitlines()[lineno - 1]
    return len(line.encode()[:offset].decode(errors="ignore")) + 1
