"""The next-best-action catalogue: a YAML file of actions, validated and compiled at load.

    version: 1
    default: route_general        # the action taken when nothing else is suitable
    actions:
      - id: confirm_order_delayed
        title: {ru: Уточнить, не о задержке ли заказа звонок, en: Confirm the delayed order}
        kind: confirm_reason
        when: reason == "order_delayed" and reason_confidence >= 0.8
        channels: [ivr, chat]
        value: 40
        ivr: {prompt_id: confirm_order_delayed, say: "Вы звоните по поводу ...?", queue: orders}
        operator: {script: "Клиент, скорее всего, звонит о задержке заказа."}

Every problem is reported at once, each with the file, its line, the path inside it
(`actions[3].when`) and the fix; see docs/actions.md for the whole format.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from predictors import templates
from predictors.action_specs import MODELS, ActionSpec, CatalogueSpec, IvrSpec
from predictors.decision import CHANNELS, TEMPLATE_VARIABLES, VARIABLES
from predictors.expressions import BOOL, NUMBER, Expression, ExpressionError, compile_expression
from predictors.wording import pick

BUILTIN = Path(__file__).resolve().parent / "builtin" / "actions.yaml"

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class Text:
    """A text template prepared at load. Plain `{{ name }}` substitution, the common case,
    is done here at a tenth of Jinja's cost; anything else goes through the Jinja sandbox."""

    __slots__ = ("source", "_parts")

    def __init__(self, source: str) -> None:
        self.source = source
        self._parts: tuple[str, ...] | None = None
        if not any(mark in source for mark in ("{%", "{#", "\r")):
            parts = tuple(_PLACEHOLDER.split(source))
            if not any("{{" in text for text in parts[0::2]) and all(
                name in TEMPLATE_VARIABLES
                for name in parts[1::2]  # not `{{ true }}`
            ):
                self._parts = parts

    def render(self, values: Mapping[str, object]) -> str:
        parts = self._parts
        if parts is None:
            return templates.render(self.source, dict(values))
        out = [parts[0]]
        for i in range(1, len(parts), 2):
            out.append(str(values[parts[i]]))
            out.append(parts[i + 1])
        return "".join(out).strip()


def _text(source: str | None) -> Text | None:
    return Text(source) if source else None


class Action:
    """One compiled action: the hot path reads these attributes and calls the expressions."""

    __slots__ = (
        "spec",
        "index",
        "id",
        "kind",
        "marketing",
        "channels",
        "when",
        "propensity",
        "value",
        "weight",
        "context_weight",
        "final",
        "ivr",
        "operator",
        "say",
        "say_en",
        "script",
        "offer",
    )

    def __init__(self, spec: ActionSpec, index: int, when: Expression, propensity: Expression):
        self.spec = spec
        self.index = index
        self.id = spec.id
        self.kind = spec.kind
        self.marketing = spec.category == "marketing"
        self.channels = frozenset(spec.channels)
        self.when = when
        self.propensity = propensity
        self.value = spec.value
        self.weight = spec.weight
        weights: dict[str, float] = {str(k): v for k, v in spec.context_weight.items()}
        self.context_weight = {c: weights.get(c, 1.0) for c in CHANNELS}
        self.final = spec.final
        self.ivr = spec.ivr
        self.operator = spec.operator
        self.say = _text(spec.ivr.say if spec.ivr else None)
        self.say_en = _text(spec.ivr.say_en if spec.ivr else None)
        self.script = _text(spec.operator.script)
        self.offer = _text(spec.operator.offer)

    def title(self, locale: str = "ru") -> str:
        return pick(self.spec.title, locale)


@dataclass(frozen=True, slots=True)
class Problem:
    where: str  # the path inside the file: actions[3].when
    line: int | None
    message: str


class CatalogueError(ValueError):
    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = [f"  {_at(source, p)}: {p.message}" for p in self.problems]
        super().__init__(f"{source}: invalid action catalogue\n" + "\n".join(lines))


def _at(source: str, p: Problem) -> str:
    return f"{source}:{p.line or 1}: {p.where or '(file)'}"


class Catalogue:
    __slots__ = ("source", "actions", "default", "by_id", "_tree")

    def __init__(
        self, source: str, actions: Sequence[Action], default: Action | None, tree: Any = None
    ) -> None:
        self.source = source
        self.actions = tuple(actions)
        self.default = default
        self.by_id = {a.id: a for a in actions}
        self._tree = tree

    def line(self, where: str) -> int | None:
        return _line(self._tree, _split(where))


def load_catalogue(path: str | Path) -> Catalogue:
    """Read, validate and compile a catalogue; CatalogueError lists every problem."""
    catalogue, problems = check_file(path)
    if catalogue is None:
        raise CatalogueError(str(path), problems)
    return catalogue


def check_file(path: str | Path) -> tuple[Catalogue | None, list[Problem]]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem("", None, f"cannot read the file: {exc}")]
    return check_text(text, str(path))


def check_text(text: str, source: str = "<catalogue>") -> tuple[Catalogue | None, list[Problem]]:
    """The catalogue, or None and the problems that keep it from loading."""
    try:
        tree = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return None, [Problem("", line, f"not valid YAML: {getattr(exc, 'problem', exc)}")]
    if not isinstance(data, dict):
        return None, [Problem("", 1, "expected a mapping with `actions:` at the top")]
    problems = _duplicate_keys(tree, ())
    try:
        spec = CatalogueSpec.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            problems.append(Problem(_path(loc), _line(tree, loc), _explain(error, loc)))
        return None, problems
    actions = []
    for i, action in enumerate(spec.actions):
        compiled = _compile(action, i, tree, problems)
        if compiled is not None:
            actions.append(compiled)
    seen: dict[str, int] = {}
    for i, action in enumerate(spec.actions):
        if action.id in seen:
            loc = ("actions", i, "id")
            first = f"first at actions[{seen[action.id]}]"
            problems.append(
                Problem(
                    _path(loc),
                    _line(tree, loc),
                    f"duplicate id {action.id!r}, {first}; ids must be unique",
                )
            )
        seen.setdefault(action.id, i)
    default = None
    if spec.default is not None:
        if spec.default not in seen:
            close = difflib.get_close_matches(spec.default, list(seen), n=1)
            fix = f"; did you mean {close[0]}?" if close else "; name one of the action ids"
            problems.append(
                Problem("default", _line(tree, ("default",)), f"no action {spec.default!r}{fix}")
            )
        else:
            default = next(a for a in actions if a.id == spec.default)
    if problems:
        return None, problems
    return Catalogue(source, actions, default, tree), []


def _compile(spec: ActionSpec, i: int, tree: Any, problems: list[Problem]) -> Action | None:
    compiled: dict[str, Expression] = {}
    for field, expect in (("when", BOOL), ("propensity", NUMBER)):
        loc = ("actions", i, field)
        try:
            compiled[field] = compile_expression(getattr(spec, field), VARIABLES, expect=expect)
        except ExpressionError as exc:
            problems.append(Problem(_path(loc), _line(tree, loc), str(exc)))
    p = compiled.get("propensity")
    if p is not None and p.constant and not 0 <= p.value <= 1:
        loc = ("actions", i, "propensity")
        problems.append(
            Problem(
                _path(loc),
                _line(tree, loc),
                f"propensity {p.value} is outside 0..1; it is a probability",
            )
        )
    ivr = spec.ivr or IvrSpec()
    texts = (
        ("ivr", "say", ivr.say),
        ("ivr", "say_en", ivr.say_en),
        ("operator", "script", spec.operator.script),
        ("operator", "offer", spec.operator.offer),
    )
    for block, field, source in texts:
        message = _check_template(source) if source else None
        if message:
            text_loc = ("actions", i, block, field)
            problems.append(Problem(_path(text_loc), _line(tree, text_loc), message))
    if len(compiled) < 2:
        return None
    return Action(spec, i, compiled["when"], compiled["propensity"])


# What a text is test-rendered with at load: every variable, long enough to matter.
_SAMPLE: dict[str, object] = {
    **{name: "Пример " * 8 for name in TEMPLATE_VARIABLES},
    "cart_value": 12500,
}


def _check_template(source: str) -> str | None:
    try:
        used = templates.variables(source)
    except templates.TemplateError as exc:
        return f"template error, {exc}"
    unknown = sorted(used - TEMPLATE_VARIABLES.keys())
    if not unknown:
        try:
            templates.render(source, _SAMPLE)
        except templates.TemplateError as exc:
            return f"template error, {exc}"
        return None
    close = difflib.get_close_matches(unknown[0], list(TEMPLATE_VARIABLES), n=1)
    fix = f"did you mean {close[0]}?" if close else "allowed: " + ", ".join(TEMPLATE_VARIABLES)
    return f"unknown template variable {unknown[0]!r}; {fix}"


def _explain(error: Any, loc: tuple[Any, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        model = MODELS[_model_at(loc[:-1])]
        close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
        fix = f"did you mean {close[0]}?" if close else "allowed: " + ", ".join(model.model_fields)
        return f"unknown attribute {loc[-1]!r}; {fix}"
    if kind == "missing":
        return f"required; add `{loc[-1]}:`"
    return str(error["msg"])


def _model_at(loc: tuple[Any, ...]) -> str:
    if len(loc) == 2 and loc[0] == "actions":
        return "action"
    if len(loc) == 3 and loc[0] == "actions" and loc[2] in ("ivr", "operator"):
        return str(loc[2])
    return ""


def _path(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _split(where: str) -> tuple[Any, ...]:
    parts: list[Any] = []
    for piece in where.replace("[", ".[").split("."):
        if piece.startswith("["):
            parts.append(int(piece.strip("[]")))
        elif piece:
            parts.append(piece)
    return tuple(parts)


def _line(tree: Any, loc: Sequence[Any]) -> int | None:
    """The line of the deepest YAML node on `loc` (errors point at the text to fix)."""
    node, line = tree, None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
        else:
            node = None
    if node is not None:
        line = node.start_mark.line + 1
    return line


def _duplicate_keys(node: Any, loc: tuple[Any, ...]) -> list[Problem]:
    """PyYAML keeps the last of two equal keys silently; a second `when:` is a mistake."""
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                problems.append(
                    Problem(
                        _path((*loc, key.value)),
                        key.start_mark.line + 1,
                        f"{key.value!r} appears twice; keep one",
                    )
                )
            seen.add(key.value)
            problems += _duplicate_keys(value, (*loc, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _duplicate_keys(item, (*loc, i))
    return problems
