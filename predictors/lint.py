"""`forecall check FILE`: what in an action catalogue is wrong, dead or ambiguous.

Errors keep the catalogue from loading or make a call misbehave (an IVR action with
nothing to say, an offer with no offer); warnings point at actions that can never win
and at final actions that fight over the same calls. Only sound checks: an action is
reported unreachable when that is certain, never on a guess.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from predictors.actions import Action, Catalogue, check_file
from predictors.decision import VARIABLES
from predictors.expressions import BOOL, ExpressionError, compile_expression


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Literal["error", "warning"]
    where: str  # file:path inside it, e.g. actions.yaml:actions[3].when
    message: str
    line: int | None = None

    def __str__(self) -> str:
        file, _, path = self.where.partition(":")
        at = f"{file}:{self.line}" if self.line else file
        return f"{at}: {self.severity}: {path or '(file)'}: {self.message}"


def lint(path: str | Path) -> list[Finding]:
    source = str(path)
    if _is_scenario_file(path):
        return lint_scenarios(path)
    catalogue, problems = check_file(path)
    if catalogue is None:
        return [Finding("error", f"{source}:{p.where}", p.message, p.line) for p in problems]
    findings: list[Finding] = []

    def add(severity: Literal["error", "warning"], where: str, message: str) -> None:
        findings.append(Finding(severity, f"{source}:{where}", message, catalogue.line(where)))

    if catalogue.default is None:
        add(
            "warning",
            "actions",
            "no `default:` action; when nothing is suitable, calls go "
            "to the built-in safe default (general queue)",
        )
    for action in catalogue.actions:
        at = f"actions[{action.index}]"
        dead = _unreachable(action, catalogue)
        if dead:
            add("warning", at, f"{action.id} can never be chosen: {dead}")
        for severity, field, message in _prompts(action):
            add(severity, f"{at}.{field}", message)
    for first, second, tie in _conflicts(catalogue):
        where = f"actions[{second.index}].when"
        if tie:
            add(
                "error",
                where,
                f"{second.id} and {first.id} are final with the same condition "
                f"and the same priority: {first.id}, earlier in the file, always wins",
            )
        else:
            add(
                "warning",
                where,
                f"{second.id} and {first.id} are final with the same "
                "condition; only their priorities decide which one the caller gets",
            )
    return findings


def _is_scenario_file(path: str | Path) -> bool:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return any(line.startswith("scenarios:") for line in text.splitlines())


def lint_scenarios(path: str | Path) -> list[Finding]:
    """Follow-up scenarios: every load problem, then what loads but will not work."""
    from core.events import Catalogue as EventCatalogue
    from predictors.scenarios import check_text

    source = str(path)
    scenarios, problems = check_text(
        Path(path).read_text(encoding="utf-8"), EventCatalogue.with_extensions()
    )
    if scenarios is None:
        return [Finding("error", f"{source}:{p.where}", p.message, p.line) for p in problems]
    findings = []
    for i, scenario in enumerate(scenarios.items):
        spec = scenario.spec
        if spec.trigger in spec.cancel_on:
            findings.append(
                Finding(
                    "error",
                    f"{source}:scenarios[{i}].cancel_on",
                    "cancels itself: the trigger is also a cancel event",
                )
            )
        if spec.category == "marketing" and not spec.holdout:
            findings.append(
                Finding(
                    "warning",
                    f"{source}:scenarios[{i}].holdout",
                    "a marketing scenario without a holdout: its uplift cannot be measured",
                )
            )
        if "en" not in spec.text:
            findings.append(
                Finding(
                    "warning",
                    f"{source}:scenarios[{i}].text",
                    "no English text: English-speaking customers get the Russian one",
                )
            )
    return findings


def _unreachable(action: Action, catalogue: Catalogue) -> str | None:
    if not action.channels:
        return "it has no channels"
    if action is catalogue.default:
        return None  # the fallback is taken whatever its priority
    if action.value == 0 or action.weight == 0:
        return "its value x weight is 0, so its priority is always 0"
    if all(action.context_weight[c] == 0 for c in action.channels):
        return "its context weight is 0 on each of its channels"
    if action.propensity.constant and action.propensity.value <= 0:
        return "its propensity is always 0"
    pins: dict[str, list[object]] = {"channel": list(sorted(action.channels))}
    if action.marketing:  # suitability: consent given, no incident
        pins.update(marketing_consent=[True], incident_active=[False])
    if all(
        _never(action.when.source, dict(zip(pins, values, strict=True)))
        for values in _product(list(pins.values()))
    ):
        suffix = " for a marketing action (consent, no incident)" if action.marketing else ""
        return f"`{action.when.source}` is false on its channels{suffix}"
    return None


def _never(source: str, constants: dict[str, object]) -> bool:
    try:
        when = compile_expression(source, VARIABLES, expect=BOOL, constants=constants)
    except ExpressionError:
        return False  # e.g. a pinned sub-expression now always fails: not provably false
    return when.constant and not when.value


def _product(choices: list[list[object]]) -> list[list[object]]:
    combos: list[list[object]] = [[]]
    for options in choices:
        combos = [c + [o] for c in combos for o in options]
    return combos


def _prompts(action: Action) -> list[tuple[Literal["error", "warning"], str, str]]:
    out: list[tuple[Literal["error", "warning"], str, str]] = []
    ivr = action.ivr
    if "ivr" in action.channels:
        if ivr is None or not (ivr.say or ivr.prompt_id):
            out.append(
                (
                    "error",
                    "ivr",
                    "an IVR action needs `ivr.say` (speech synthesis) or "
                    "`ivr.prompt_id` (a recorded prompt)",
                )
            )
        elif ivr.say and not ivr.say_en:
            out.append(("warning", "ivr.say_en", "no English text: English callers hear Russian"))
        if action.final and not (ivr and (ivr.queue or ivr.skill)):
            out.append(
                ("error", "ivr.queue", "a final IVR action must route: add `queue` or `skill`")
            )
    if action.kind == "route" and not (ivr and (ivr.queue or ivr.skill)):
        out.append(("error", "ivr.queue", "a route action needs `ivr.queue` or `ivr.skill`"))
    if action.kind == "offer" and not action.operator.offer:
        out.append(
            (
                "error",
                "operator.offer",
                "an offer action needs `operator.offer`: the operator must know what to offer",
            )
        )
    if not action.operator.script:
        out.append(("warning", "operator.script", "no script for the operator"))
    return out


def _conflicts(catalogue: Catalogue) -> list[tuple[Action, Action, bool]]:
    out = []
    # The default is meant to overlap everything: it is the fallback.
    finals = [a for a in catalogue.actions if a.final and a is not catalogue.default]
    for i, first in enumerate(finals):
        for second in finals[i + 1 :]:
            shared = first.channels & second.channels
            if not shared or _shape(first.when.source) != _shape(second.when.source):
                continue
            tie = (
                _shape(first.propensity.source) == _shape(second.propensity.source)
                and first.value * first.weight == second.value * second.weight
                and all(first.context_weight[c] == second.context_weight[c] for c in shared)
            )
            out.append((first, second, tie))
    return out


def _shape(source: str) -> str:
    """The expression without its spacing and redundant brackets."""
    return ast.dump(ast.parse(source, mode="eval"))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="forecall check", description="Check next-best-action catalogues (YAML)."
    )
    parser.add_argument("files", nargs="+", metavar="FILE")
    args = parser.parse_args(argv)
    errors = warnings = 0
    for file in args.files:
        for finding in lint(file):
            print(finding)
            errors += finding.severity == "error"
            warnings += finding.severity == "warning"
    print(f"{len(args.files)} file(s): {errors} error(s), {warnings} warning(s)", file=sys.stderr)
    return 1 if errors else 0
