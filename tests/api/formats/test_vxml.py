"""VoiceXML 2.1: well-formed, and within the language's content model for every element
we write. The model below is transcribed from the VoiceXML 2.0 schema and the 2.1
additions (<transfer type>); it is first held against documents shaped like the
specification's own examples, so that a checker too lax or too strict shows up."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.formats import vxml
from predictors.actions import BUILTIN, load_catalogue
from predictors.arbitration import SAFE_DEFAULT, Decision, IvrInstruction, arbitrate
from predictors.decision import Context

NS = "{http://www.w3.org/2001/vxml}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
EXECUTABLE = {
    "assign",
    "audio",
    "clear",
    "data",
    "disconnect",
    "enumerate",
    "exit",
    "foreach",
    "goto",
    "if",
    "log",
    "prompt",
    "reprompt",
    "return",
    "script",
    "submit",
    "throw",
    "value",
    "var",
}
SSML = {
    "audio",
    "break",
    "emphasis",
    "enumerate",
    "foreach",
    "mark",
    "p",
    "phoneme",
    "prosody",
    "s",
    "say-as",
    "sub",
    "value",
    "voice",
}
# element: (attributes allowed, children allowed)
MODEL: dict[str, tuple[set[str], set[str]]] = {
    "vxml": (
        {"version", "application", "xml:base", "xml:lang"},
        {
            "catch",
            "data",
            "error",
            "form",
            "help",
            "link",
            "menu",
            "meta",
            "metadata",
            "noinput",
            "nomatch",
            "property",
            "script",
            "var",
        },
    ),
    "form": (
        {"id", "scope"},
        {
            "block",
            "catch",
            "error",
            "field",
            "filled",
            "grammar",
            "help",
            "initial",
            "link",
            "noinput",
            "nomatch",
            "object",
            "property",
            "record",
            "script",
            "subdialog",
            "transfer",
            "var",
        },
    ),
    "block": ({"name", "expr", "cond"}, EXECUTABLE),
    "catch": ({"event", "count", "cond"}, EXECUTABLE),
    "filled": ({"mode", "namelist"}, EXECUTABLE),
    "prompt": (
        {"bargein", "bargeintype", "cond", "count", "timeout", "xml:lang", "xml:base"},
        SSML,
    ),
    "transfer": (
        {
            "name",
            "expr",
            "cond",
            "dest",
            "destexpr",
            "bridge",
            "type",
            "connecttimeout",
            "maxtime",
            "transferaudio",
            "aai",
            "aaiexpr",
        },
        {
            "audio",
            "catch",
            "enumerate",
            "error",
            "filled",
            "grammar",
            "help",
            "noinput",
            "nomatch",
            "prompt",
            "property",
            "value",
        },
    ),
    "var": ({"name", "expr"}, set()),
    "exit": ({"expr", "namelist"}, set()),
    "return": ({"event", "eventexpr", "message", "messageexpr", "namelist"}, set()),
    "log": ({"label", "expr"}, {"value"}),
    "audio": ({"src", "expr", "fetchtimeout", "fetchhint", "maxage", "maxstale"}, {"value"}),
    "value": ({"expr"}, set()),
    "if": ({"cond"}, EXECUTABLE | {"elseif", "else"}),
    "elseif": ({"cond"}, set()),
    "else": (set(), set()),
}
ES_LITERAL = re.compile(r"^(?:'(?:[^'\\\n\r\u2028\u2029]|\\.)*'|-?\d+(?:\.\d+)?|true|false)$")


def check(document: str) -> ET.Element:
    """Parse and hold the document to the model; return the root."""
    root = ET.fromstring(document.encode())
    assert root.tag == f"{NS}vxml" and root.get("version") in ("2.0", "2.1")
    declared = {v.get("name") for v in root.iter(f"{NS}var")}
    for element in root.iter():
        assert element.tag.startswith(NS), f"{element.tag} is outside the VoiceXML namespace"
        name = element.tag[len(NS) :]
        assert name in MODEL, f"<{name}> is not in the model"
        attributes, children = MODEL[name]
        names = {"xml:lang" if a == XML_LANG else a for a in element.attrib}
        assert names <= attributes, f"<{name}> {names - attributes}"
        for child in element:
            assert child.tag[len(NS) :] in children, f"<{child.tag}> inside <{name}>"
        if name == "transfer":
            assert ("dest" in names) != ("destexpr" in names), "exactly one of dest/destexpr"
            assert not {"bridge", "type"} <= names, "2.1: bridge and type are exclusive"
            assert element.get("type", "blind") in ("blind", "bridge", "consultation")
        if name in ("exit", "return") and element.get("namelist"):
            assert set(element.get("namelist", "").split()) <= declared
        if name == "var":
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", element.get("name", ""))
            assert ES_LITERAL.match(element.get("expr", "undefined")), element.get("expr")
        if name == "prompt":
            assert element.get("bargein", "true") in ("true", "false")
    return root


SPEC_SHAPED = [
    # A blind transfer after a prompt (VoiceXML 2.1 §9: the type attribute).
    """<?xml version="1.0" encoding="UTF-8"?>
    <vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
      <form id="xfer">
        <block><prompt>Transferring you now.</prompt></block>
        <transfer name="mycall" dest="tel:+1-555-123-4567" type="blind" connecttimeout="20s">
          <prompt>Please wait.</prompt>
        </transfer>
      </form>
    </vxml>""",
    # Returning values to the interpreter context (VoiceXML 2.0 §5.3.9, <exit namelist>).
    """<?xml version="1.0" encoding="UTF-8"?>
    <vxml version="2.0" xmlns="http://www.w3.org/2001/vxml" xml:lang="en-US">
      <var name="status" expr="'done'"/>
      <form id="main">
        <catch event="error"><exit expr="'ERROR'"/></catch>
        <block><prompt bargein="false">Goodbye.</prompt><exit namelist="status"/></block>
      </form>
    </vxml>""",
]
NOT_VXML = [
    SPEC_SHAPED[0].replace('type="blind"', 'type="blind" bridge="false"'),
    SPEC_SHAPED[0].replace('dest="tel:+1-555-123-4567"', ""),
    SPEC_SHAPED[1].replace('namelist="status"', 'namelist="status missing"'),
    SPEC_SHAPED[1].replace("<block>", "<block><transfer dest='tel:1'/>"),
    SPEC_SHAPED[1].replace("expr=\"'done'\"", 'expr="done\'"'),
    SPEC_SHAPED[1].replace('xmlns="http://www.w3.org/2001/vxml"', ""),
]


@pytest.mark.parametrize("document", SPEC_SHAPED)
def test_the_model_accepts_documents_shaped_like_the_spec_examples(document: str) -> None:
    check(document)


@pytest.mark.parametrize("document", NOT_VXML)
def test_the_model_refuses_what_the_spec_forbids(document: str) -> None:
    with pytest.raises(AssertionError):
        check(document)


def _decision(**ivr: Any) -> Decision:
    base = {
        "action_id": "confirm_reason",
        "prompt_id": "confirm_reason",
        "say": "Вы звоните по поводу счёта?",
        "language": "ru-RU",
        "queue": "general",
        "skill": None,
        "priority": 3,
        "final": False,
    }
    return Decision(SAFE_DEFAULT.top, (), IvrInstruction(**{**base, **ivr}), SAFE_DEFAULT.operator)


def _values(root: ET.Element) -> dict[str, str]:
    return {v.get("name", ""): v.get("expr", "") for v in root.iter(f"{NS}var")}


def test_a_question_returns_the_decision_through_exit_namelist() -> None:
    root = check(vxml.render(_decision()))
    assert root.get(XML_LANG) == "ru-RU"
    [prompt] = root.iter(f"{NS}prompt")
    assert prompt.text == "Вы звоните по поводу счёта?" and prompt.get("bargein") == "true"
    [exit_] = root.iter(f"{NS}exit")
    assert exit_.get("namelist", "").split() == list(vxml.NAMES)
    assert _values(root) == {
        "action_id": "'confirm_reason'",
        "queue": "'general'",
        "skill": "''",
        "priority": "3",
        "final": "false",
        "prompt_id": "'confirm_reason'",
        "degraded": "false",
    }
    assert not list(root.iter(f"{NS}transfer"))


def test_a_subdialog_returns_instead() -> None:
    root = check(vxml.render(_decision(), end="return"))
    assert [e.tag for e in root.iter() if e.tag in (f"{NS}exit", f"{NS}return")] == [f"{NS}return"]


def test_a_final_action_to_a_mapped_queue_transfers_the_call() -> None:
    decision = _decision(final=True, queue="priority", skill="senior")
    root = check(vxml.render(decision, transfer={"senior": "sip:senior@pbx.example"}))
    [transfer] = root.iter(f"{NS}transfer")
    assert transfer.get("dest") == "sip:senior@pbx.example" and transfer.get("type") == "blind"
    [catch] = root.iter(f"{NS}catch")
    assert catch.get("event") == "error.connection error.unsupported"
    assert [c.tag for c in catch] == [f"{NS}exit"]
    [prompt] = root.iter(f"{NS}prompt")
    assert prompt.get("bargein") == "false"
    unmapped = check(vxml.render(decision, transfer={"other": "tel:+74950000000"}))
    assert not list(unmapped.iter(f"{NS}transfer"))
    with pytest.raises(ValueError, match="tel:, sip: or sips:"):
        vxml.render(decision, transfer={"priority": "javascript:alert(1)"})


def test_the_safe_default_and_a_real_decision_render() -> None:
    root = check(vxml.render(SAFE_DEFAULT))
    assert _values(root)["degraded"] == "true" and _values(root)["queue"] == "'general'"
    decision = arbitrate(
        load_catalogue(BUILTIN),
        Context(
            locale="en", incident_active=True, incident_title="No network", incident_eta="18:00"
        ),
    )
    root = check(vxml.render(decision))
    assert root.get(XML_LANG) == "en-US"
    assert "18:00" in "".join(root.itertext())


def _unquote(literal: str) -> str:
    return re.sub(
        r"\\(u2028|u2029|.)",
        lambda m: {"n": "\n", "r": "\r", "u2028": "\u2028", "u2029": "\u2029"}.get(
            m.group(1), m.group(1)
        ),
        literal[1:-1],
    )


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.text(max_size=20))
def test_any_text_stays_well_formed_and_intact(say: str, queue: str) -> None:
    root = check(vxml.render(_decision(say=say, queue=queue, action_id=say[:10])))
    clean = vxml.clean(say)
    prompts = list(root.iter(f"{NS}prompt"))
    assert (prompts[0].text or "") == clean if say else not prompts
    assert _unquote(_values(root)["queue"]) == vxml.clean(queue)
    assert _unquote(_values(root)["action_id"]) == vxml.clean(say[:10])
