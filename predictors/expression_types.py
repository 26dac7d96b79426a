"""The expression language's vocabulary: its types, the compiled `Expression`, its
errors, and how values are shown in a decision's "why" (predictors/expressions.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

NUMBER, BOOL, TEXT, LIST = "number", "bool", "text", "list"
FUNCTIONS = ("abs", "max", "min")
MAX_LENGTH = 1000
MAX_DEPTH = 32
Reader = Callable[[Any], Any]


class ExpressionError(ValueError):
    """An expression that cannot be compiled: where (1-based column) and how to fix it."""

    def __init__(self, expression: str, column: int, reason: str, fix: str = "") -> None:
        self.expression = expression
        self.column = column
        self.reason = reason
        self.fix = fix
        text = f"`{expression}`, column {column}: {reason}"
        super().__init__(f"{text}; {fix}" if fix else text)


@dataclass(frozen=True, slots=True)
class Variable:
    type: str
    description: str = ""
    read: Reader | None = None  # None: the context's attribute of the same name


class Expression:
    """A compiled expression: call it with a context."""

    __slots__ = ("source", "type", "names", "constant", "value", "fn", "_readers")

    def __init__(
        self,
        source: str,
        type_: str,
        fn: Reader,
        readers: tuple[tuple[str, Reader], ...],
        constant: bool,
        value: Any,
    ) -> None:
        self.source = source
        self.type = type_
        self.names = tuple(name for name, _ in readers)
        self.constant = constant  # no variables: `value` is the answer for every context
        self.value = value
        self.fn = fn  # the closure itself: the hot path calls it without this wrapper
        self._readers = readers

    def __call__(self, ctx: Any) -> Any:
        return self.fn(ctx)

    def bindings(self, ctx: Any) -> str:
        """The values this expression read, for the "why" of a decision."""
        return ", ".join([f"{name}={show(read(ctx))}" for name, read in self._readers])

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


def show(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is float:
        return f"{value:.4g}"
    if kind is bool:
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)


def hint(type_: str) -> str:
    return {
        TEXT: 'compare text with == or in, e.g. segment == "b2b"',
        BOOL: "use a bool as a condition: known and not incident_active",
        LIST: 'test membership: "order_delayed" in reasons',
        NUMBER: "compare numbers with < <= > >=, e.g. churn >= 0.6",
    }[type_]
