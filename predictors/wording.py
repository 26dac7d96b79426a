"""Texts a person reads, in their language: Russian always, English when given.

A catalogue's `title` may be one string (the same for every reader) or `{ru: ..., en: ...}`;
`pick` gives the reader's, falling back to Russian, the house's default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

Locale = Literal["ru", "en"]


def _russian_first(value: str | dict[str, str]) -> str | dict[str, str]:
    if isinstance(value, dict) and "ru" not in value:
        raise ValueError("a Russian text (`ru:`) is required; `en:` is optional")
    return value


_Short = Annotated[str, Field(min_length=1, max_length=200)]
LocalText = Annotated[
    _Short | dict[Locale, _Short],
    AfterValidator(_russian_first),
]


def pick(text: str | Mapping[Any, str], locale: str) -> str:
    """The text for `locale`: its own version, else the Russian one."""
    if isinstance(text, str):
        return text
    return text.get(locale) or text["ru"]


def number(value: float, locale: str, digits: int = 2) -> str:
    """A number as the reader writes it: «0,95» in Russian, "0.95" in English."""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if locale != "en" else text
