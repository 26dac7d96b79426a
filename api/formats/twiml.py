"""Twilio: TwiML out, the form-encoded voice webhook in, X-Twilio-Signature checked.

    <Response>
      <Say language="ru-RU" voice="Polly.Tatyana">Соединяю вас со специалистом.</Say>
      <Enqueue>general</Enqueue>
    </Response>

A final action speaks and routes: `<Enqueue>` to the queue (or to a TaskRouter workflow
with the skill and priority as task attributes), or `<Dial>` when the deployment maps the
queue to a number or SIP address. A non-final one (a confirmation question) speaks inside
`<Gather>`, so the answer comes back to `gather_action`; silence falls through to routing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit
from xml.etree.ElementTree import Element, SubElement, tostring

from api.formats.vxml import clean
from core.errors import InvalidInput
from predictors.arbitration import Decision

VOICES = {"ru-RU": "Polly.Tatyana", "en-US": "Polly.Joanna"}
# Caller ID withheld: Twilio sends "anonymous" or a keypad spelling of ANONYMOUS,
# RESTRICTED, BLOCKED, UNKNOWN or UNAVAILABLE instead of a number.
ANONYMOUS = frozenset(
    {"anonymous", "+266696687", "+7378742833", "+2562533", "+8656696", "+86282452253"}
)
MAX_FIELDS = 200


def render(
    decision: Decision,
    *,
    voice: str | None = None,
    workflow_sid: str | None = None,
    dial: Mapping[str, str] | None = None,
    gather_action: str | None = None,
) -> str:
    ivr = decision.ivr
    root = Element("Response")
    speaker = root
    if not ivr.final and gather_action:
        speaker = SubElement(
            root,
            "Gather",
            {
                "input": "dtmf speech",
                "action": gather_action,
                "method": "POST",
                "language": ivr.language,
                "numDigits": "1",
                "speechTimeout": "auto",
                "timeout": "5",
            },
        )
    if ivr.say:
        say = SubElement(
            speaker,
            "Say",
            {
                "language": ivr.language,
                "voice": voice or VOICES.get(ivr.language, "alice"),
            },
        )
        say.text = clean(ivr.say)
    number = (dial or {}).get(ivr.queue or "") or (dial or {}).get(ivr.skill or "")
    if number:
        target = SubElement(root, "Dial")
        SubElement(
            target, "Sip" if number.startswith(("sip:", "sips:")) else "Number"
        ).text = number
    elif workflow_sid:
        enqueue = SubElement(root, "Enqueue", {"workflowSid": workflow_sid})
        attributes = {"queue": ivr.queue, "skill": ivr.skill, "action": ivr.action_id}
        task = SubElement(enqueue, "Task", {"priority": str(int(ivr.priority))})
        task.text = json.dumps(attributes, ensure_ascii=False)
    else:
        SubElement(root, "Enqueue").text = clean(ivr.queue or ivr.skill or "general")
    return '<?xml version="1.0" encoding="UTF-8"?>' + tostring(root, encoding="unicode")


@dataclass(frozen=True, slots=True)
class TwilioCall:
    """The fields of Twilio's voice webhook that the inbound decision uses."""

    call_sid: str
    caller: str | None  # None when the caller ID is withheld
    called: str | None
    utterance: str | None  # SpeechResult of a <Gather input="speech">
    confidence: float | None
    digits: str | None

    def inbound_fields(self) -> dict[str, Any]:
        """Keyword arguments for the inbound decision (inbound.decision.facts)."""
        return {
            "call_id": self.call_sid,
            "channel": "ivr",
            "caller": self.caller,
            "caller_kind": "phone",
            "utterance": self.utterance,
        }


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """The webhook's form body as pairs, blanks kept: the signature covers them too."""
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput("body", f"not a Twilio form body: {exc}") from None


def parse_webhook(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> TwilioCall:
    form = dict(params.items() if isinstance(params, Mapping) else params)
    call_sid = form.get("CallSid", "").strip()
    if not call_sid:
        raise InvalidInput("CallSid", "missing: not a Twilio voice webhook")
    caller = form.get("From", "").strip() or None
    if caller is not None and caller.lower() in ANONYMOUS:
        caller = None
    try:
        confidence = float(form["Confidence"]) if form.get("Confidence") else None
    except ValueError:
        confidence = None
    return TwilioCall(
        call_sid=call_sid,
        caller=caller,
        called=form.get("To") or None,
        utterance=form.get("SpeechResult", "").strip() or None,
        confidence=confidence,
        digits=form.get("Digits") or None,
    )


def compute_signature(
    auth_token: str, url: str, params: Mapping[str, str] | Iterable[tuple[str, str]]
) -> str:
    """Twilio's documented algorithm: the full URL, then each POST parameter name and value
    sorted by name (a repeated name's values sorted too), HMAC-SHA1 with the auth token,
    base64."""
    pairs = params.items() if isinstance(params, Mapping) else params
    values: dict[str, set[str]] = {}
    for name, value in pairs:
        values.setdefault(name, set()).add(value)
    data = url + "".join(name + v for name in sorted(values) for v in sorted(values[name]))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def validate_signature(
    auth_token: str,
    url: str,
    params: Mapping[str, str] | Iterable[tuple[str, str]],
    signature: str | None,
) -> bool:
    """True when `signature` (the X-Twilio-Signature header) signs this request.

    Twilio signs the URL as it called it, sometimes with the port and sometimes without;
    the URL as given, without its port and with the scheme's default port are tried, as
    Twilio's own libraries do. JSON webhooks
    (`bodySHA256`) are not supported: voice webhooks are form-encoded.
    """
    if not signature or not auth_token:
        return False
    pairs = list(params.items() if isinstance(params, Mapping) else params)
    given = signature.encode()
    return any(
        hmac.compare_digest(compute_signature(auth_token, candidate, pairs).encode(), given)
        for candidate in dict.fromkeys((url, *_port_variants(url)))
    )


def _port_variants(url: str) -> tuple[str, ...]:
    parts = urlsplit(url)
    if not parts.hostname:
        return ()
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.netloc.rsplit("@", 1)[-1]
    userinfo = parts.netloc[: -len(host)]
    bare = host.rsplit(":", 1)[0] if parts.port else host
    out = [urlunsplit(parts._replace(netloc=userinfo + bare))]
    if default is not None and not parts.port:
        out.append(urlunsplit(parts._replace(netloc=f"{userinfo}{host}:{default}")))
    return tuple(out)
