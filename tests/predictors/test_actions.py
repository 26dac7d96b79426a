"""The action catalogue: the built-in one, the errors of a broken one, the texts, the doc."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.events import CONTACT_REASONS
from predictors import templates
from predictors.actions import (
    BUILTIN,
    CatalogueError,
    Text,
    check_text,
    load_catalogue,
)
from predictors.decision import (
    REASON_TITLES,
    TEMPLATE_VARIABLES,
    VARIABLES,
    Context,
    template_values,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "actions.md"

MINIMAL = """\
version: 1
default: fallback
actions:
  - id: confirm
    title: Confirm
    kind: confirm_reason
    when: reason_confidence >= 0.8
    value: 10
    ivr: {say: "Вы звоните по поводу {{ reason_title }}?", queue: general}
  - id: fallback
    title: Fallback
    kind: route
    final: true
    value: 1
    ivr: {say: "Соединяю.", queue: general}
"""


def _problems(text: str) -> list[tuple[str, int | None, str]]:
    catalogue, problems = check_text(text, "t.yaml")
    assert catalogue is None
    return [(p.where, p.line, p.message) for p in problems]


def test_builtin_catalogue_loads_and_covers_the_known_cases() -> None:
    catalogue = load_catalogue(BUILTIN)
    assert catalogue.default is not None and catalogue.default.id == "route_general"
    kinds = {a.kind for a in catalogue.actions}
    assert kinds == {
        "announce_incident",
        "confirm_reason",
        "self_service",
        "route",
        "offer",
        "support",
    }
    assert 10 <= len(catalogue.actions) <= 20
    marketing = [a.id for a in catalogue.actions if a.marketing]
    assert marketing == ["retention_offer", "retention_after_problem"]


def test_builtin_reason_ids_exist() -> None:
    catalogue = load_catalogue(BUILTIN)
    named: set[str] = set()
    for action in catalogue.actions:
        for node in ast.walk(ast.parse(action.when.source, mode="eval")):
            if isinstance(node, ast.Compare) and getattr(node.left, "id", None) == "reason":
                for right in node.comparators:
                    named |= {str(c.value) for c in ast.walk(right) if isinstance(c, ast.Constant)}
    assert named and named <= set(CONTACT_REASONS)
    assert set(REASON_TITLES) == set(CONTACT_REASONS)


def test_builtin_speech_is_russian_with_english_alternatives() -> None:
    values = template_values(
        Context(
            order_id="A-1", incident_title="Нет связи", incident_eta="18:00", customer_name="Анна"
        )
    )
    english = template_values(
        Context(
            locale="en",
            order_id="A-1",
            incident_title="No network",
            incident_eta="18:00",
            customer_name="Ann",
        )
    )
    for action in load_catalogue(BUILTIN).actions:
        if "ivr" not in action.channels:
            continue
        assert action.say is not None and action.say_en is not None, action.id
        ru, en = action.say.render(values), action.say_en.render(english)
        assert re.search("[а-яё]", ru) and not re.search("[а-яё]", en.lower()), action.id
        assert "{" not in ru + en and len(ru) < 300, action.id
        assert action.script is not None and action.script.render(values), action.id


def test_minimal_catalogue_loads_and_yaml_scalars_become_expressions() -> None:
    text = MINIMAL.replace("when: reason_confidence >= 0.8", "when: true\n    propensity: 1")
    catalogue, problems = check_text(text, "t.yaml")
    assert problems == [] and catalogue is not None
    assert catalogue.actions[0].when.value is True
    assert catalogue.actions[0].propensity.value == 1


def test_unknown_attribute_names_path_line_and_fix() -> None:
    text = MINIMAL.replace("    value: 10\n", "    value: 10\n    channel: [ivr]\n")
    assert _problems(text) == [
        ("actions[0].channel", 9, "unknown attribute 'channel'; did you mean channels?")
    ]
    nested = MINIMAL.replace(
        "queue: general}\n  - id: fallback", "queue: general, sey: x}\n  - id: fallback"
    )
    [(where, line, message)] = _problems(nested)
    assert where == "actions[0].ivr.sey" and line == 9 and "did you mean say?" in message


def test_bad_expression_points_into_the_file() -> None:
    text = MINIMAL.replace("reason_confidence >= 0.8", "segment > 3")
    [(where, line, message)] = _problems(text)
    assert (where, line) == ("actions[0].when", 7)
    assert "column 1" in message and 'segment == "b2b"' in message


def test_unknown_template_variable_is_refused_with_a_suggestion() -> None:
    text = MINIMAL.replace("{{ reason_title }}", "{{ reason_titel }}")
    [(where, line, message)] = _problems(text)
    assert (where, line) == ("actions[0].ivr.say", 9)
    assert "'reason_titel'" in message and "did you mean reason_title?" in message
    broken = MINIMAL.replace("{{ reason_title }}", "{% if %}")
    [(where, _, message)] = _problems(broken)
    assert where == "actions[0].ivr.say" and message.startswith("template error")


@pytest.mark.parametrize(
    ("change", "where", "fragment"),
    [
        (("default: fallback", "default: fallbak"), "default", "did you mean fallback?"),
        (("id: fallback\n", "id: confirm\n"), "actions[1].id", "duplicate id 'confirm'"),
        (("    value: 1\n", "    value: -1\n"), "actions[1].value", "greater than or equal"),
        (("    value: 1\n", ""), "actions[1].value", "required; add `value:`"),
        (("kind: route", "kind: rout"), "actions[1].kind", "'announce_incident'"),
        (
            ("value: 10\n", "value: 10\n    propensity: 2\n"),
            "actions[0].propensity",
            "outside 0..1",
        ),
        (("final: true\n", "final: true\n    final: false\n"), "actions[1].final", "appears twice"),
        (
            ("value: 10\n", "value: 10\n    context_weight: {phone: 1}\n"),
            "actions[0].context_weight.phone.[key]",
            "'ivr', 'chat' or 'messenger'",
        ),
    ],
)
def test_each_mistake_is_reported_where_it_is(
    change: tuple[str, str], where: str, fragment: str
) -> None:
    text = MINIMAL.replace(*change)
    assert text != MINIMAL
    found = _problems(text)
    assert any(w == where and fragment in m and line for w, line, m in found), found


def test_yaml_syntax_and_shape_errors() -> None:
    [(_, line, message)] = _problems("actions:\n  - id: [unclosed\n")
    assert line == 3 and message.startswith("not valid YAML")
    [(_, _, message)] = _problems("- just\n- a list\n")
    assert "mapping" in message


def test_load_catalogue_error_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        MINIMAL.replace("reason_confidence", "confidence").replace(
            "default: fallback", "default: nope"
        ),
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path)
    assert len(caught.value.problems) == 2
    text = str(caught.value)
    assert f"{path}:7: actions[0].when" in text and f"{path}:2: default" in text
    with pytest.raises(CatalogueError, match="cannot read"):
        load_catalogue(tmp_path / "missing.yaml")


_WORDS = st.text(alphabet="абв abc.,!?{}%#'\"\n\\", max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            _WORDS,
            st.sampled_from([*TEMPLATE_VARIABLES, "true", "none", "order_id|upper", "1 + 2"]).map(
                lambda n: f"{{{{ {n} }}}}"
            ),
        ),
        max_size=6,
    ).map("".join)
)
def test_plain_substitution_renders_exactly_as_jinja(source: str) -> None:
    values = template_values(Context(customer_name="Анна", order_id="A-7", cart_value=1500.4))
    try:
        expected = templates.render(source, values)
    except Exception:  # not a valid template at all: load refuses it, nothing to compare
        return
    assert Text(source).render(values) == expected


def test_docs_list_every_variable_with_its_type() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [n for n, v in VARIABLES.items() if f"| `{n}` | {v.type} |" not in text]
    assert missing == []
    assert all(f"| `{name}` |" in text for name in TEMPLATE_VARIABLES)
