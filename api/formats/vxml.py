"""A VoiceXML 2.1 document for VXML browsers (Naumen, Avaya Experience Portal, Genesys GVP).

    <vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" xml:lang="ru-RU">
      <var name="action_id" expr="'confirm_order_delayed'"/>  ... queue, skill, priority ...
      <form id="forecall">
        <block>
          <prompt bargein="true">Вы звоните по поводу задержки заказа A-1001?</prompt>
          <exit namelist="action_id queue skill priority final prompt_id degraded"/>
        </block>
      </form>
    </vxml>

The decision goes back to the platform's own call flow through `<exit namelist>` (or
`<return namelist>` when the platform calls us as a subdialog), which routes by `queue` and
`skill`. When the deployment maps a queue to a tel:/sip: URI and the action is final, the
document transfers the call itself (`<transfer type="blind">`, VoiceXML 2.1 §9) and falls
back to the namelist if the platform cannot connect.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal
from xml.etree.ElementTree import Element, SubElement, tostring

from predictors.arbitration import Decision

NAMESPACE = "http://www.w3.org/2001/vxml"
NAMES = ("action_id", "queue", "skill", "priority", "final", "prompt_id", "degraded")
# Characters XML 1.0 cannot carry at all: a stray control character in a customer's name
# must not make the whole document unreadable to the browser.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_URI = re.compile(r"^(tel|sip|sips):\S+$")


def clean(text: str) -> str:
    """Drop what XML cannot carry; a parser reads \r as \n anyway, so write it so."""
    return _NOT_XML.sub("", text).replace("\r\n", "\n").replace("\r", "\n")


def js_string(value: str) -> str:
    """An ECMAScript string literal (the `expr` of a <var>), single-quoted."""
    escaped = (
        clean(value)
        .replace("\\", "\\\\")
        .replace("'", "\\'")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
    return f"'{escaped}'"


def render(
    decision: Decision,
    *,
    transfer: Mapping[str, str] | None = None,
    end: Literal["exit", "return"] = "exit",
) -> str:
    """The document as text. `transfer` maps a queue or skill to a tel:/sip: URI."""
    ivr = decision.ivr
    root = Element("vxml", {"version": "2.1", "xmlns": NAMESPACE, "xml:lang": ivr.language})
    values = {
        "action_id": js_string(ivr.action_id),
        "queue": js_string(ivr.queue or ""),
        "skill": js_string(ivr.skill or ""),
        "priority": str(int(ivr.priority)),
        "final": "true" if ivr.final else "false",
        "prompt_id": js_string(ivr.prompt_id or ""),
        "degraded": "true" if decision.degraded else "false",
    }
    for name in NAMES:
        SubElement(root, "var", {"name": name, "expr": values[name]})
    form = SubElement(root, "form", {"id": "forecall"})
    dest = _destination(decision, transfer) if ivr.final else None
    if dest is not None:
        # Failing to connect (busy number, no route, no blind transfer on this platform)
        # hands the decision back instead of dropping the caller.
        catch = SubElement(form, "catch", {"event": "error.connection error.unsupported"})
        SubElement(catch, end, {"namelist": " ".join(NAMES)})
    block = SubElement(form, "block")
    if ivr.say:
        # A question or a notice may be interrupted by the answer; a routing phrase is heard.
        prompt = SubElement(block, "prompt", {"bargein": "false" if ivr.final else "true"})
        prompt.text = clean(ivr.say)
    if dest is not None:
        SubElement(form, "transfer", {"name": "handoff", "type": "blind", "dest": dest})
    else:
        SubElement(block, end, {"namelist": " ".join(NAMES)})
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode")


def _destination(decision: Decision, transfer: Mapping[str, str] | None) -> str | None:
    if not transfer:
        return None
    ivr = decision.ivr
    dest = transfer.get(ivr.queue or "") or transfer.get(ivr.skill or "")
    if dest is not None and not _URI.match(dest):
        raise ValueError(f"transfer destination {dest!r} must be a tel:, sip: or sips: URI")
    return dest
