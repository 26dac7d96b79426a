"""Twilio: TwiML as Twilio's own library writes it, the webhook, and its signature.

The signature is checked against the worked example of Twilio's request-validation
documentation and, over random requests, against the `twilio` package's RequestValidator.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio import request_validator
from twilio.twiml import voice_response

from api.formats import twiml
from api.formats.vxml import clean
from core.errors import InvalidInput
from predictors.arbitration import SAFE_DEFAULT, Decision, IvrInstruction

# TwiML verbs and nouns as Twilio documents them: element -> (attributes, children).
MODEL: dict[str, tuple[set[str], set[str]]] = {
    "Response": (
        set(),
        {
            "Connect",
            "Dial",
            "Enqueue",
            "Gather",
            "Hangup",
            "Leave",
            "Pause",
            "Pay",
            "Play",
            "Prompt",
            "Record",
            "Redirect",
            "Refer",
            "Reject",
            "Say",
            "Start",
            "Stop",
        },
    ),
    "Say": (
        {"voice", "language", "loop"},
        {"break", "emphasis", "lang", "p", "phoneme", "prosody", "s", "say-as", "sub", "w"},
    ),
    "Gather": (
        {
            "action",
            "actionOnEmptyResult",
            "enhanced",
            "finishOnKey",
            "hints",
            "input",
            "language",
            "method",
            "numDigits",
            "partialResultCallback",
            "partialResultCallbackMethod",
            "profanityFilter",
            "speechModel",
            "speechTimeout",
            "timeout",
        },
        {"Say", "Play", "Pause"},
    ),
    "Enqueue": (
        {"action", "maxQueueSize", "method", "waitUrl", "waitUrlMethod", "workflowSid"},
        {"Task"},
    ),
    "Task": ({"priority", "timeout"}, set()),
    "Dial": (
        {
            "action",
            "answerOnBridge",
            "callerId",
            "hangupOnStar",
            "method",
            "record",
            "ringTone",
            "timeLimit",
            "timeout",
            "trim",
        },
        {"Client", "Conference", "Number", "Queue", "Sim", "Sip", "Application"},
    ),
    "Number": ({"sendDigits", "url", "method"}, set()),
    "Sip": ({"username", "password", "url", "method"}, set()),
}


def check(document: str) -> ET.Element:
    root = ET.fromstring(document.encode())
    assert root.tag == "Response"
    for element in root.iter():
        attributes, children = MODEL[element.tag]
        assert set(element.attrib) <= attributes, (element.tag, element.attrib)
        assert {c.tag for c in element} <= children, element.tag
    return root


def _tree(element: ET.Element) -> Any:
    return (
        element.tag,
        dict(element.attrib),
        (element.text or "").strip(),
        [_tree(c) for c in element],
    )


def _same(ours: str, theirs: Any) -> None:
    assert _tree(check(ours)) == _tree(ET.fromstring(str(theirs).encode()))


def _decision(**ivr: Any) -> Decision:
    base = {
        "action_id": "route_general",
        "prompt_id": "route_general",
        "say": "Соединяю вас со специалистом & <оператором>.",
        "language": "ru-RU",
        "queue": "general",
        "skill": None,
        "priority": 0,
        "final": True,
    }
    return Decision(SAFE_DEFAULT.top, (), IvrInstruction(**{**base, **ivr}), SAFE_DEFAULT.operator)


def test_say_then_enqueue_as_twilio_writes_it() -> None:
    expected = voice_response.VoiceResponse()
    expected.say(
        "Соединяю вас со специалистом & <оператором>.", voice="Polly.Tatyana", language="ru-RU"
    )
    expected.enqueue("general")
    _same(twiml.render(_decision()), expected)


def test_a_question_is_asked_inside_gather_then_routes() -> None:
    decision = _decision(say="Вы звоните по поводу счёта?", final=False, queue="billing")
    expected = voice_response.VoiceResponse()
    gather = expected.gather(
        input="dtmf speech",
        action="https://fc.example/v1/twilio?a=1&b=2",
        method="POST",
        language="ru-RU",
        num_digits=1,
        speech_timeout="auto",
        timeout=5,
    )
    gather.say("Вы звоните по поводу счёта?", voice="Polly.Tatyana", language="ru-RU")
    expected.enqueue("billing")
    _same(twiml.render(decision, gather_action="https://fc.example/v1/twilio?a=1&b=2"), expected)


def test_taskrouter_workflow_carries_skill_and_priority() -> None:
    decision = _decision(
        queue="priority",
        skill="senior",
        priority=8,
        action_id="vip",
        language="en-US",
        say="Connecting you.",
    )
    expected = voice_response.VoiceResponse()
    expected.say("Connecting you.", voice="Polly.Joanna", language="en-US")
    enqueue = expected.enqueue(None, workflow_sid="WW0123")
    enqueue.task(json.dumps({"queue": "priority", "skill": "senior", "action": "vip"}), priority=8)
    _same(twiml.render(decision, workflow_sid="WW0123"), expected)


def test_dial_when_the_queue_maps_to_a_number_or_sip() -> None:
    expected = voice_response.VoiceResponse()
    expected.say("Соединяю.", voice="Polly.Maxim", language="ru-RU")
    expected.dial().number("+74950000000")
    _same(
        twiml.render(
            _decision(say="Соединяю."), voice="Polly.Maxim", dial={"general": "+74950000000"}
        ),
        expected,
    )
    root = check(twiml.render(_decision(), dial={"general": "sip:desk@pbx.example"}))
    assert [(e.tag, e.text) for e in root.iter("Sip")] == [("Sip", "sip:desk@pbx.example")]


def test_safe_default_renders() -> None:
    root = check(twiml.render(SAFE_DEFAULT))
    assert [e.tag for e in root] == ["Say", "Enqueue"]
    enqueue = root.find("Enqueue")
    assert enqueue is not None and enqueue.text == "general"


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_any_text_stays_well_formed(say: str) -> None:
    root = check(twiml.render(_decision(say=say)))
    says = list(root.iter("Say"))
    assert [s.text or "" for s in says] == ([clean(say)] if say else [])


# Twilio's documented worked example of request validation.
DOC_TOKEN = "12345"
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
DOC_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_signature_of_twilios_documented_example() -> None:
    assert twiml.compute_signature(DOC_TOKEN, DOC_URL, DOC_PARAMS) == DOC_SIGNATURE
    assert twiml.validate_signature(DOC_TOKEN, DOC_URL, DOC_PARAMS, DOC_SIGNATURE)
    pairs = list(reversed(DOC_PARAMS.items()))  # order of arrival does not matter
    assert twiml.validate_signature(DOC_TOKEN, DOC_URL, pairs, DOC_SIGNATURE)


@pytest.mark.parametrize(
    ("token", "url", "params", "signature"),
    [
        ("54321", DOC_URL, DOC_PARAMS, DOC_SIGNATURE),
        (DOC_TOKEN, DOC_URL.replace("bar=2", "bar=3"), DOC_PARAMS, DOC_SIGNATURE),
        (DOC_TOKEN, DOC_URL.replace("https", "http"), DOC_PARAMS, DOC_SIGNATURE),
        (DOC_TOKEN, DOC_URL, {**DOC_PARAMS, "Digits": "9999"}, DOC_SIGNATURE),
        (DOC_TOKEN, DOC_URL, {**DOC_PARAMS, "Extra": ""}, DOC_SIGNATURE),
        (DOC_TOKEN, DOC_URL, DOC_PARAMS, DOC_SIGNATURE[:-1]),
        (DOC_TOKEN, DOC_URL, DOC_PARAMS, ""),
        (DOC_TOKEN, DOC_URL, DOC_PARAMS, None),
        ("", DOC_URL, DOC_PARAMS, DOC_SIGNATURE),
        (DOC_TOKEN, DOC_URL, DOC_PARAMS, "Ж/KCTR6DLpKmkAf8muzZqo1nDgQ="),
    ],
)
def test_any_change_breaks_the_signature(
    token: str, url: str, params: dict[str, str], signature: str | None
) -> None:
    assert not twiml.validate_signature(token, url, params, signature)


def test_url_with_or_without_the_default_port() -> None:
    with_port = DOC_URL.replace("mycompany.com", "mycompany.com:443")
    signed_with_port = twiml.compute_signature(DOC_TOKEN, with_port, DOC_PARAMS)
    assert twiml.validate_signature(DOC_TOKEN, DOC_URL, DOC_PARAMS, signed_with_port)
    assert twiml.validate_signature(DOC_TOKEN, with_port, DOC_PARAMS, DOC_SIGNATURE)
    # Twilio's validator drops any port, not only the default one; so do we.
    other_port = DOC_URL.replace("mycompany.com", "mycompany.com:8443")
    assert twiml.validate_signature(DOC_TOKEN, other_port, DOC_PARAMS, DOC_SIGNATURE)
    assert request_validator.RequestValidator(DOC_TOKEN).validate(
        other_port, DOC_PARAMS, DOC_SIGNATURE
    )
    other_host = DOC_URL.replace("mycompany.com", "mycompany.com.evil.example")
    assert not twiml.validate_signature(DOC_TOKEN, other_host, DOC_PARAMS, DOC_SIGNATURE)


class _MultiDict:
    """Repeated form fields, the way Flask hands them to Twilio's validator."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def __iter__(self) -> Any:
        return iter(dict(self.pairs))

    def getall(self, name: str) -> list[str]:
        return [v for k, v in self.pairs if k == name]


_NAMES = st.text(alphabet="AaBbZz_09Ёж", min_size=1, max_size=6)
_VALUES = st.text(max_size=12).filter(lambda v: "\x00" not in v)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(_NAMES, _VALUES), max_size=8),
    st.sampled_from(
        [
            "https://fc.example/v1/twilio",
            "http://fc.example:8080/hook?x=1",
            "https://fc.example:443/a?b=%D0%B6",
        ]
    ),
    st.text(alphabet="0123456789abcdef", min_size=1, max_size=32),
)
def test_signature_agrees_with_twilios_request_validator(
    pairs: list[tuple[str, str]], url: str, token: str
) -> None:
    validator = request_validator.RequestValidator(token)
    theirs = validator.compute_signature(url, _MultiDict(pairs))
    assert twiml.compute_signature(token, url, pairs) == theirs
    assert twiml.validate_signature(token, url, pairs, theirs)
    assert validator.validate(url, _MultiDict(pairs), twiml.compute_signature(token, url, pairs))


def test_webhook_form_to_inbound_fields() -> None:
    form = {
        "CallSid": "CA42",
        "AccountSid": "AC1",
        "From": "+79161234567",
        "To": "+74950000000",
        "SpeechResult": " у меня не работает интернет ",
        "Confidence": "0.91",
        "Digits": "",
        "CallStatus": "in-progress",
    }
    body = urlencode(form).encode()
    pairs = twiml.parse_form(body)
    assert dict(pairs) == form  # blanks kept: the signature covers them
    signature = request_validator.RequestValidator("tok").compute_signature(
        "https://fc.example/v1/inbound/twilio", form
    )
    assert twiml.validate_signature("tok", "https://fc.example/v1/inbound/twilio", pairs, signature)
    call = twiml.parse_webhook(pairs)
    assert call.inbound_fields() == {
        "call_id": "CA42",
        "channel": "ivr",
        "caller": "+79161234567",
        "caller_kind": "phone",
        "utterance": "у меня не работает интернет",
    }
    assert call.confidence == 0.91 and call.digits is None and call.called == "+74950000000"


@pytest.mark.parametrize("caller", ["anonymous", "Anonymous", "+266696687", "+86282452253", ""])
def test_withheld_caller_ids_are_anonymous(caller: str) -> None:
    assert twiml.parse_webhook({"CallSid": "CA1", "From": caller}).caller is None


def test_bad_webhooks_are_refused() -> None:
    with pytest.raises(InvalidInput, match="CallSid"):
        twiml.parse_webhook({"From": "+79161234567"})
    with pytest.raises(InvalidInput, match="body"):
        twiml.parse_form(b"\xff\xfe")
    with pytest.raises(InvalidInput, match="body"):
        twiml.parse_form("&".join(f"k{i}=v" for i in range(500)).encode())
    assert twiml.parse_webhook({"CallSid": "CA1", "Confidence": "high"}).confidence is None
