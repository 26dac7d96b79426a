"""A small, safe expression language for action conditions and propensities.

`reason == "order_delayed" and reason_confidence >= 0.8` is parsed once, at load, with
`ast.parse(mode="eval")`; an allow-list walk type-checks it against a schema of variables
and turns it into nested closures. Nothing is ever handed to eval/exec, and a call
allocates no dictionaries: each name is one precomputed reader over the context.

Allowed: numbers, "text", true/false, [lists], names from the schema, == != < <= > >=
(chains too), in / not in, and / or / not, + - * /, parentheses, min() max() abs().
Types are strict (number, bool, text, list): `segment > 3` is refused at load, with the
column and the fix. Semantics are Python's, so the language holds no surprises.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from predictors.expression_compiler import Compiler, constant
from predictors.expression_types import (
    BOOL,
    FUNCTIONS,
    LIST,
    MAX_DEPTH,
    MAX_LENGTH,
    NUMBER,
    TEXT,
    Expression,
    ExpressionError,
    Reader,
    Variable,
    hint,
    show,
)

__all__ = [
    "BOOL",
    "FUNCTIONS",
    "LIST",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "NUMBER",
    "TEXT",
    "Expression",
    "ExpressionError",
    "Reader",
    "Variable",
    "compile_expression",
    "show",
]


def compile_expression(
    source: str | bool | float,
    variables: Mapping[str, str | Variable],
    *,
    expect: str | None = None,
    constants: Mapping[str, Any] | None = None,
) -> Expression:
    """Compile `source` against `variables` (name -> type or Variable).

    `constants` pins some variables to values (the linter pins `channel`, to find conditions
    that can never hold). Raises ExpressionError naming the column and the fix.
    """
    if isinstance(source, bool):
        source = "true" if source else "false"
    source = str(source).strip()
    if not source:
        raise ExpressionError(source, 1, "the expression is empty", "write true for always")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(
            source[:60] + "...",
            1,
            f"longer than {MAX_LENGTH} characters",
            "split the condition across actions",
        )
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        fix = _syntax_fix(source)
        raise ExpressionError(source, exc.offset or 1, f"syntax error: {exc.msg}", fix) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(source, 1, f"cannot be parsed: {type(exc).__name__}") from None
    compiler = Compiler(source, variables, constants or {})
    try:
        node = compiler.compile(tree.body)
    except RecursionError:
        raise ExpressionError(source, 1, "nested too deeply", "simplify it") from None
    if expect is not None and node.type != expect:
        raise ExpressionError(
            source,
            1,
            f"gives a {node.type}, a {expect} is needed",
            hint(node.type) if expect == BOOL else "",
        )
    if not compiler.readers and not node.const:
        try:
            node = constant(node.type, node.fn(None))
        except (ArithmeticError, ValueError) as exc:
            raise ExpressionError(source, 1, f"always fails: {exc}") from None
    readers = tuple(compiler.readers.items())
    return Expression(source, node.type, node.fn, readers, node.const, node.value)


def _syntax_fix(source: str) -> str:
    if "&&" in source or "||" in source:
        return "use and / or"
    if "!" in source.replace("!=", ""):
        return "use not"
    if "=" in source.replace("==", "").replace("!=", "").replace("<=", "").replace(">=", ""):
        return "compare with =="
    return 'check the brackets and quotes; text goes in "quotes"'
