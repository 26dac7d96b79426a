"""The catalogue and the profile are documented in full."""

from __future__ import annotations

from pathlib import Path

from core.events import BUILTIN_EVENTS, Catalogue
from predictors import attributes

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_builtin_event_type_is_documented() -> None:
    text = (DOCS / "events.md").read_text()
    missing = [spec.name for spec in BUILTIN_EVENTS if f"| `{spec.name}` |" not in text]
    assert missing == []


def test_every_profile_attribute_is_defined() -> None:
    text = (DOCS / "profile.md").read_text()
    derived = attributes.derive({}, Catalogue.with_extensions(), 1_795_000_000.0)
    names = ["customer_id", "known", *derived]
    missing = [name for name in names if f"| `{name}` |" not in text]
    assert missing == []
