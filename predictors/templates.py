"""Message templates: Jinja2 in its immutable sandbox, cut down to what a message needs.

A template written by a client (incident notices) or a manager (scenario and action texts)
may print the variables it is given, test them (`{% if %}`), combine them with operators
and a few filters that cannot blow the text up, and nothing else: no attribute or item
access (`''.__class__`, `title.format`), no calls, no loops, no assignments, no globals
(`cycler`, `lipsum`, `range`). Without loops and assignments a text grows at most linearly
with its source and its values; `*` on a string is checked before it runs, and the output
has a size limit. `check()` is what a submission passes before anything is written.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2 import TemplateError as JinjaError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

# A notice is a few hundred bytes; a few KB is generous for any message we send.
DEFAULT_MAX_BYTES = 4096
# `*` on a text may not build more than this, whatever the output limit: it guards memory.
_MAX_REPEAT = 65536

_ALLOWED: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.If,
    nodes.CondExpr,
    nodes.Filter,
    nodes.Test,
    nodes.Keyword,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Neg,
    nodes.Pos,
    nodes.Concat,
    nodes.Add,
    nodes.Sub,
    nodes.Mul,
    nodes.Div,
    nodes.FloorDiv,
    nodes.Mod,
    nodes.Tuple,
    nodes.List,
)
# Filters whose output is no longer than their input (or a number).
_FILTERS = frozenset(
    {
        "abs",
        "capitalize",
        "d",
        "default",
        "first",
        "float",
        "int",
        "last",
        "length",
        "count",
        "lower",
        "round",
        "string",
        "title",
        "trim",
        "truncate",
        "upper",
    }
)
_TESTS = frozenset(
    {
        "defined",
        "undefined",
        "none",
        "number",
        "string",
        "integer",
        "float",
        "boolean",
        "true",
        "false",
        "odd",
        "even",
        "divisibleby",
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "in",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
    }
)
_WHAT = {
    nodes.Getattr: "attribute access (`x.name`)",
    nodes.Getitem: "item access (`x[...]`)",
    nodes.Call: "calls",
    nodes.For: "loops (`{% for %}`)",
    nodes.Assign: "assignments (`{% set %}`)",
    nodes.AssignBlock: "assignments (`{% set %}`)",
    nodes.Macro: "macros",
    nodes.Pow: "`**`",
}


class TemplateError(ValueError):
    pass


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox with `*` and `%` checked before they run: `'a' * 20000000` is refused
    instead of built."""

    intercepted_binops = frozenset({"*", "%"})

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    if len(seq) * times > _MAX_REPEAT:
                        raise SecurityError("`*` would make a text longer than a message")
            return operator.mul(left, right)
        if isinstance(left, str):
            raise SecurityError("`%` formatting of text is not allowed; print the variable")
        return operator.mod(left, right)


_ENV = _Environment(undefined=StrictUndefined, autoescape=False, trim_blocks=True)
_ENV.globals.clear()  # no range, lipsum, cycler, joiner, namespace, dict


def _where(node: nodes.Node) -> str:
    return f"line {node.lineno}: " if getattr(node, "lineno", None) else ""


def _screen(tree: nodes.Template) -> None:
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _ALLOWED):
            what = next((w for kind, w in _WHAT.items() if isinstance(node, kind)), None)
            what = what or f"`{type(node).__name__}`"
            raise TemplateError(f"{_where(node)}{what}: not allowed in a message template")
        if isinstance(node, nodes.Filter) and node.name not in _FILTERS:
            raise TemplateError(
                f"{_where(node)}the filter {node.name!r} is not allowed; "
                f"allowed: {', '.join(sorted(_FILTERS))}"
            )
        if isinstance(node, nodes.Test) and node.name not in _TESTS:
            raise TemplateError(f"{_where(node)}the test {node.name!r} is not allowed")
        if isinstance(node, nodes.Filter | nodes.Test) and (node.dyn_args or node.dyn_kwargs):
            raise TemplateError(f"{_where(node)}`*args` and `**kwargs` are not allowed")


@lru_cache(maxsize=1024)
def _parsed(source: str) -> nodes.Template:
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"line {exc.lineno}: {exc.message}") from None
    _screen(tree)
    return tree


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Any:
    _parsed(source)
    return _ENV.from_string(source)


def variables(source: str) -> set[str]:
    """The variables a template uses; raises TemplateError for what it may not do."""
    return set(meta.find_undeclared_variables(_parsed(source)))


def render(source: str, values: Mapping[str, object], max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    try:
        text = str(_compiled(source).render(**values)).strip()
    except TemplateError:
        raise
    except JinjaError as exc:  # undefined variables, the sandbox's refusals
        raise TemplateError(str(exc.message or exc)) from None
    except (TypeError, ValueError, ArithmeticError) as exc:  # `title - 1`, `1 / 0`
        raise TemplateError(f"cannot render: {exc}") from None
    size = len(text.encode())
    if size > max_bytes:
        raise TemplateError(f"renders {size} bytes; a message is at most {max_bytes}")
    return text


def check(
    source: str,
    samples: Iterable[Mapping[str, object]],
    max_bytes: int = DEFAULT_MAX_BYTES,
    allowed: Iterable[str] | None = None,
) -> None:
    """Everything a template must pass when it is submitted: it compiles, uses only the
    variables it is given (`allowed`, or those of the samples) and renders every sample
    within the size limit. Raises TemplateError saying why not."""
    samples = list(samples)
    known = set(allowed) if allowed is not None else {k for s in samples for k in s}
    unknown = sorted(variables(source) - known)
    if unknown:
        raise TemplateError(
            f"unknown variable {unknown[0]!r}; available: {', '.join(sorted(known))}"
        )
    for sample in samples:
        render(source, sample, max_bytes)
