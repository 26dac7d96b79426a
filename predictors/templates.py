"""Message templates: Jinja2 in its sandbox, so that a template written by a manager can
read the variables it is given and nothing else."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True)


class TemplateError(ValueError):
    pass


@lru_cache(maxsize=1024)
def _compiled(source: str):  # type: ignore[no-untyped-def]
    try:
        return _ENV.from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"line {exc.lineno}: {exc.message}") from None


def variables(source: str) -> set[str]:
    """The variables a template uses: checked against what a scenario provides, at load."""
    try:
        return set(meta.find_undeclared_variables(_ENV.parse(source)))
    except TemplateSyntaxError as exc:
        raise TemplateError(f"line {exc.lineno}: {exc.message}") from None


def render(source: str, values: dict[str, object]) -> str:
    try:
        return str(_compiled(source).render(**values)).strip()
    except UndefinedError as exc:
        raise TemplateError(str(exc.message)) from None
