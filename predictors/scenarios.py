"""Follow-up scenarios: what event starts one, when each touch goes, what cancels it.

    scenarios:
      - name: abandoned_cart
        trigger: cart_abandoned              # an event type of the catalogue
        when: value >= 500                   # over the trigger's fields (expressions.py)
        cancel_on: [order_placed]
        category: marketing                  # marketing | service | transactional
        channels: [telegram, sms, email]     # in order; the customer's preference first
        touches: [{delay: 2h}, {delay: 24h}, {delay: 72h}]
        text: {ru: "...", en: "..."}         # Jinja2 (sandboxed), per locale
        approval: false                      # true: each message waits for a manager
        holdout: 0.1                         # share of customers who get nothing
        conversion: {event: order_placed, within: 7d}

Validated at load: every problem is reported with its path and line
(`scenarios[2].touches[0].delay: ...`), every template is compiled and its variables
checked against what the trigger provides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.events import Catalogue as EventCatalogue
from core.events import FieldKind
from predictors.actions import Problem, _duplicate_keys, _line, _path
from predictors.expressions import BOOL, Expression, ExpressionError, Variable, compile_expression
from predictors.templates import TemplateError, render, variables
from predictors.wording import LocalText, pick

BUILTIN = Path(__file__).resolve().parent / "builtin" / "scenarios.yaml"
CHANNELS = ("telegram", "sms", "email", "whatsapp", "viber", "push")
# What every template may use besides the trigger's own fields.
COMMON_VARIABLES = frozenset({"first_name", "touch", "scenario"})
_DURATION = re.compile(r"^(\d+)\s*(m|h|d)$")
_UNITS = {"m": 60, "h": 3600, "d": 86400}
_TYPES = {FieldKind.number: "number", FieldKind.integer: "number", FieldKind.boolean: "bool"}


def seconds(duration: str) -> float:
    """`30m`, `2h`, `7d` in seconds."""
    match = _DURATION.match(duration.strip())
    if match is None:
        raise ValueError(f"{duration!r} is not a duration like 30m, 2h or 7d")
    return int(match.group(1)) * _UNITS[match.group(2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Touch(_Strict):
    delay: str = Field(description="after the trigger (first touch) or the previous touch")
    text: dict[Literal["ru", "en"], str] | None = None  # overrides the scenario's text

    @field_validator("delay")
    @classmethod
    def _duration(cls, value: str) -> str:
        seconds(value)
        return value


class Conversion(_Strict):
    event: str
    within: str = "7d"

    @field_validator("within")
    @classmethod
    def _duration(cls, value: str) -> str:
        seconds(value)
        return value


class ScenarioSpec(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    title: LocalText | None = None  # what managers read; `{ru: ..., en: ...}` or one text
    trigger: str
    when: str = "true"
    cancel_on: list[str] = Field(default_factory=list)
    category: Literal["marketing", "service", "transactional"]
    channels: list[Literal["telegram", "sms", "email", "whatsapp", "viber", "push"]] = Field(
        min_length=1
    )
    touches: list[Touch] = Field(min_length=1, max_length=10)
    text: dict[Literal["ru", "en"], str]
    subject: str | None = Field(None, max_length=200)
    provider_template: str | None = Field(None, description="approved template name")
    approval: bool = False
    # Or only some messages wait: those whose trigger makes this hold (`value >= 50000`).
    approval_when: str | None = None
    holdout: float = Field(0.0, ge=0.0, lt=1.0)
    conversion: Conversion | None = None

    @field_validator("text")
    @classmethod
    def _russian_first(cls, value: dict[str, str]) -> dict[str, str]:
        if "ru" not in value:
            raise ValueError("a Russian text (`ru:`) is required; `en:` is optional")
        return value


class PolicySpec(_Strict):
    marketing_per_day: int = Field(1, ge=0)
    marketing_per_week: int = Field(3, ge=0)
    # Local send windows per category: weekdays (1 = Monday) and hour ranges.
    windows: dict[str, list[str]] = Field(
        default_factory=lambda: {"marketing": ["1-5 10:00-12:00", "1-5 15:00-19:00"]}
    )


class FileSpec(_Strict):
    version: Literal[1] = 1
    policy: PolicySpec = Field(default_factory=PolicySpec)
    scenarios: list[ScenarioSpec] = Field(default_factory=list)


@dataclass(frozen=True)
class Scenario:
    spec: ScenarioSpec
    condition: Expression
    needs_approval: Expression
    delays: tuple[float, ...]  # seconds after the trigger, cumulative

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def group(self) -> str:
        return f"scenario:{self.spec.name}"

    def title(self, locale: str = "ru") -> str:
        """The title in the reader's language; the name when the file gives none."""
        return pick(self.spec.title, locale) if self.spec.title else self.spec.name

    def text(self, touch: int, locale: str, values: dict[str, Any]) -> str:
        override = self.spec.touches[touch].text
        texts = override or self.spec.text
        source = texts.get(locale) or texts["ru"]  # type: ignore[call-overload]
        return render(source, values)


@dataclass(frozen=True)
class Scenarios:
    policy: PolicySpec
    items: tuple[Scenario, ...]

    def triggered_by(self, event_type: str) -> list[Scenario]:
        return [s for s in self.items if s.spec.trigger == event_type]

    def cancelled_by(self, event_type: str) -> list[Scenario]:
        return [s for s in self.items if event_type in s.spec.cancel_on]

    def converted_by(self, event_type: str) -> list[Scenario]:
        return [
            s for s in self.items if s.spec.conversion and s.spec.conversion.event == event_type
        ]

    def get(self, name: str) -> Scenario | None:
        return next((s for s in self.items if s.name == name), None)


class ScenarioError(ValueError):
    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.problems = problems
        lines = [f"  {source}:{p.line or 1}: {p.where}: {p.message}" for p in problems]
        super().__init__(f"{source}: invalid scenarios\n" + "\n".join(lines))


def load_scenarios(path: str | Path, events: EventCatalogue) -> Scenarios:
    scenarios, problems = check_text(Path(path).read_text(encoding="utf-8"), events)
    if scenarios is None:
        raise ScenarioError(str(path), problems)
    return scenarios


@cache
def builtin(events: EventCatalogue) -> Scenarios:
    return load_scenarios(BUILTIN, events)


def check_text(text: str, events: EventCatalogue) -> tuple[Scenarios | None, list[Problem]]:
    """The scenarios, or None and every problem that keeps them from loading."""
    try:
        tree = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [Problem("", mark.line + 1 if mark else None, f"not valid YAML: {exc}")]
    if not isinstance(data, dict):
        return None, [Problem("", 1, "expected a mapping with `scenarios:` at the top")]
    problems = _duplicate_keys(tree, ())
    try:
        spec = FileSpec.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                message = f"unknown attribute {loc[-1]!r}"
            elif error["type"] == "missing":
                message = f"required; add `{loc[-1]}:`"
            problems.append(Problem(_path(loc), _line(tree, loc), message))
        return None, problems
    items = []
    seen: set[str] = set()
    for i, scenario in enumerate(spec.scenarios):
        compiled = _compile(scenario, i, tree, events, problems)
        if scenario.name in seen:
            loc = ("scenarios", i, "name")
            problems.append(Problem(_path(loc), _line(tree, loc), "the name is used twice"))
        seen.add(scenario.name)
        if compiled is not None:
            items.append(compiled)
    for category, windows in spec.policy.windows.items():
        for j, window in enumerate(windows):
            try:
                parse_window(window)
            except ValueError as exc:
                loc = ("policy", "windows", category, j)
                problems.append(Problem(_path(loc), _line(tree, loc), str(exc)))
    return (None, problems) if problems else (Scenarios(spec.policy, tuple(items)), [])


def _compile(
    spec: ScenarioSpec, i: int, tree: Any, events: EventCatalogue, problems: list[Problem]
) -> Scenario | None:
    def problem(field: tuple[Any, ...], message: str) -> None:
        loc = ("scenarios", i, *field)
        problems.append(Problem(_path(loc), _line(tree, loc), message))

    before = len(problems)
    trigger = events.specs.get(spec.trigger)
    known = ", ".join(sorted(events.specs))
    if trigger is None:
        problem(("trigger",), f"unknown event type {spec.trigger!r}; known: {known}")
    for j, name in enumerate(spec.cancel_on):
        if name not in events.specs:
            problem(("cancel_on", j), f"unknown event type {name!r}")
    if spec.conversion and spec.conversion.event not in events.specs:
        problem(("conversion", "event"), f"unknown event type {spec.conversion.event!r}")
    fields = {**trigger.required, **trigger.optional} if trigger else {}
    schema = {
        name: Variable(_TYPES.get(kind, "text"), read=_reader(name, _TYPES.get(kind, "text")))
        for name, kind in fields.items()
    }
    condition = approval = None
    try:
        condition = compile_expression(spec.when, schema, expect=BOOL)
    except ExpressionError as exc:
        problem(("when",), str(exc))
    try:
        approval = compile_expression(spec.approval_when or spec.approval, schema, expect=BOOL)
    except ExpressionError as exc:
        problem(("approval_when",), str(exc))
    provided = COMMON_VARIABLES | set(fields)
    texts: list[tuple[tuple[Any, ...], str]] = [
        (("text", lang), source) for lang, source in spec.text.items()
    ]
    for j, touch in enumerate(spec.touches):
        texts += [(("touches", j, "text", lang), s) for lang, s in (touch.text or {}).items()]
    sample = {name: _SAMPLES[_TYPES.get(kind, "text")] for name, kind in fields.items()}
    sample.update(first_name="Пример", touch=len(spec.touches), scenario=spec.name)
    for where, source in texts:
        try:
            unknown = variables(source) - provided
        except TemplateError as exc:
            problem(where, f"template: {exc}")
            continue
        if unknown:
            problem(
                where,
                f"uses {', '.join(sorted(unknown))}, which {spec.trigger} does not provide; "
                f"available: {', '.join(sorted(provided))}",
            )
            continue
        try:
            render(source, sample)
        except TemplateError as exc:
            problem(where, f"template: {exc}")
    if len(problems) > before or condition is None or approval is None:
        return None
    delays, total = [], 0.0
    for touch in spec.touches:
        total += seconds(touch.delay)
        delays.append(total)
    return Scenario(spec, condition, approval, tuple(delays))


_DEFAULTS: dict[str, Any] = {"number": 0, "bool": False, "text": ""}
# What each text is test-rendered with at load.
_SAMPLES: dict[str, Any] = {"number": 12500, "bool": True, "text": "Пример " * 8}


def _reader(name: str, type_: str) -> Any:
    """An absent optional field reads as 0, false or "": conditions stay total."""
    default = _DEFAULTS[type_]

    def read(ctx: dict[str, Any]) -> Any:
        value = ctx.get(name)
        return default if value is None else value

    return read


def parse_window(window: str) -> tuple[set[int], int, int]:
    """`1-5 10:00-12:00` -> (weekdays 1..7, start minute, end minute)."""
    match = re.match(r"^([1-7])-([1-7])\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$", window.strip())
    if match is None:
        raise ValueError(f"{window!r} is not a window like `1-5 10:00-12:00`")
    first, last, h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if first > last or start >= end or end > 24 * 60:
        raise ValueError(f"{window!r}: days or hours run backwards")
    return set(range(first, last + 1)), start, end
