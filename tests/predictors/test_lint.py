"""`forecall check`: errors, unreachable actions and conflicts, each where it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from predictors.actions import BUILTIN
from predictors.lint import Finding, lint, main

HEAD = """\
version: 1
default: general
actions:
  - id: general
    title: General
    kind: route
    final: true
    value: 1
    ivr: {say: "Соединяю.", say_en: "Connecting.", queue: general}
    operator: {script: "Уточните причину."}
"""


def _action(id_: str, extra: str = "", **fields: str) -> str:
    body = {
        "title": id_.title(),
        "kind": "route",
        "value": "10",
        "final": "true",
        "ivr": '{say: "Текст.", say_en: "Text.", queue: q}',
        "operator": '{script: "Скрипт."}',
        **fields,
    }
    lines = [f"  - id: {id_}"] + [f"    {k}: {v}" for k, v in body.items() if v != "-"]
    return "\n".join(lines) + "\n" + extra


def _lint(tmp_path: Path, *actions: str) -> list[Finding]:
    path = tmp_path / "actions.yaml"
    path.write_text(HEAD + "".join(actions), encoding="utf-8")
    return lint(path)


def _messages(findings: list[Finding]) -> list[tuple[str, str, str]]:
    return [(f.severity, f.where.partition(":")[2], f.message) for f in findings]


def test_builtin_catalogue_is_clean() -> None:
    assert lint(BUILTIN) == []
    assert main([str(BUILTIN)]) == 0


def test_a_clean_file_has_no_findings(tmp_path: Path) -> None:
    assert _lint(tmp_path, _action("ok", when="known")) == []


@pytest.mark.parametrize(
    ("fields", "because"),
    [
        ({"when": "false"}, "`false` is false on its channels"),
        ({"when": "churn > 1 and false"}, "is false on its channels"),
        ({"channels": "[]"}, "it has no channels"),
        ({"value": "0"}, "value x weight is 0"),
        ({"weight": "0"}, "value x weight is 0"),
        ({"propensity": "0"}, "propensity is always 0"),
        ({"context_weight": "{ivr: 0, chat: 0, messenger: 0}"}, "context weight is 0"),
        (
            {"when": 'channel == "chat" and known', "channels": "[ivr, messenger]"},
            "false on its channels",
        ),
        ({"when": "not marketing_consent", "category": "marketing"}, "consent, no incident"),
        (
            {"when": "incident_active and churn > 0.5", "category": "marketing"},
            "consent, no incident",
        ),
    ],
)
def test_unreachable_actions_are_warned(
    tmp_path: Path, fields: dict[str, str], because: str
) -> None:
    [(severity, where, message)] = _messages(_lint(tmp_path, _action("dead", **fields)))
    assert (severity, where) == ("warning", "actions[1]")
    assert message.startswith("dead can never be chosen: ") and because in message


def test_reachable_conditions_are_not_flagged(tmp_path: Path) -> None:
    found = _lint(
        tmp_path,
        _action("a", when='channel == "ivr" and churn > 0.5'),
        _action("b", when="marketing_consent and churn > 0.5", category="marketing"),
        _action("c", when="1 / monthly_revenue > 0.1"),
    )
    assert found == []


def test_missing_prompts_and_offers_are_errors(tmp_path: Path) -> None:
    found = _messages(
        _lint(
            tmp_path,
            _action("silent", ivr="{queue: q}"),
            _action("nowhere", ivr='{say: "Текст.", say_en: "Text."}'),
            _action("offer", kind="offer"),
            _action("chat_only", channels="[chat]", ivr="-", final="false", kind="support"),
            _action("mute", ivr='{say: "Текст.", queue: q}', operator="-"),
        )
    )
    assert (
        "error",
        "actions[1].ivr",
        "an IVR action needs `ivr.say` (speech synthesis) or `ivr.prompt_id` (a recorded prompt)",
    ) in found
    assert (
        "error",
        "actions[2].ivr.queue",
        "a final IVR action must route: add `queue` or `skill`",
    ) in found
    assert (
        "error",
        "actions[3].operator.offer",
        "an offer action needs `operator.offer`: the operator must know what to offer",
    ) in found
    assert (
        "error",
        "actions[4].ivr.queue",
        "a route action needs `ivr.queue` or `ivr.skill`",
    ) not in found
    assert (
        "warning",
        "actions[5].ivr.say_en",
        "no English text: English callers hear Russian",
    ) in found
    assert ("warning", "actions[5].operator.script", "no script for the operator") in found
    assert not [f for f in found if f[1].startswith("actions[4]")]


def test_conflicting_final_actions(tmp_path: Path) -> None:
    tie = _messages(
        _lint(
            tmp_path,
            _action("one", when="known and churn > 0.5"),
            _action("two", when="(known) and churn>0.5"),
        )
    )
    assert tie == [
        (
            "error",
            "actions[2].when",
            "two and one are final with the same "
            "condition and the same priority: one, earlier in the file, always wins",
        )
    ]
    weighed = _messages(
        _lint(tmp_path, _action("one", when="known"), _action("two", when="known", value="20"))
    )
    assert weighed == [
        (
            "warning",
            "actions[2].when",
            "two and one are final with the same "
            "condition; only their priorities decide which one the caller gets",
        )
    ]
    apart = _lint(
        tmp_path,
        _action("one", when="known", channels="[ivr]"),
        _action("two", when="known", channels="[chat]", ivr="-", kind="support"),
    )
    assert apart == []
    not_final = _lint(
        tmp_path, _action("one", when="known"), _action("two", when="known", final="false")
    )
    assert not_final == []


def test_load_errors_are_findings_with_lines(tmp_path: Path) -> None:
    found = _lint(tmp_path, _action("bad", when="segmnt == 1", colour="red"))
    assert [(f.severity, f.line) for f in found] == [("error", 19)]
    assert "unknown attribute 'colour'" in found[0].message
    found = _lint(tmp_path, _action("bad", when="segmnt == 1"))
    [finding] = found
    assert finding.where.endswith("actions.yaml:actions[1].when") and finding.line == 18
    assert "did you mean segment?" in finding.message
    assert str(finding).startswith(f"{tmp_path / 'actions.yaml'}:18: error: actions[1].when: ")


def test_missing_default_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "actions.yaml"
    path.write_text(HEAD.replace("default: general\n", ""), encoding="utf-8")
    [finding] = lint(path)
    assert finding.severity == "warning" and "no `default:`" in finding.message


def test_main_prints_and_sets_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(HEAD, encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        HEAD + _action("offer", kind="offer") + _action("dead", when="false"), encoding="utf-8"
    )
    assert main([str(good)]) == 0
    assert main([str(good), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert f"{bad}:17: error: actions[1].operator.offer:" in out
    assert "warning: actions[2]: dead can never be chosen" in out
    assert "2 file(s): 1 error(s), 1 warning(s)" in err
    assert main([str(tmp_path / "missing.yaml")]) == 1


HOSTILE_TEXTS = [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ order_id|attr('__class__') }}",
    "{{ 'a' * 20000000 }}",
    "{{ order_id.format }}",
    "{% for c in order_id %}{{ c }}{% endfor %}",
]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_a_text_that_leaves_the_sandbox_is_an_error(tmp_path: Path, text: str) -> None:
    say = "{say: " + repr(text) + ", say_en: Text., queue: q}"
    found = _messages(_lint(tmp_path, _action("bad", ivr=say)))
    assert [(s, w) for s, w, _ in found] == [("error", "actions[1].ivr.say")]
    assert found[0][2].startswith("template error, ")


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_a_scenario_text_that_leaves_the_sandbox_is_an_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "followups.yaml"
    path.write_text(
        f"""version: 1
scenarios:
  - name: late
    trigger: order_delivered
    category: service
    channels: [sms]
    touches: [{{delay: 0m}}]
    text: {{ru: {text!r}}}
""",
        encoding="utf-8",
    )
    [finding] = lint(path)
    assert finding.severity == "error" and finding.where.endswith("scenarios[0].text.ru")
    assert "template" in finding.message
