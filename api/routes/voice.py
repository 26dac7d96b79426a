"""The inbound decision in the voice platforms' own formats: VoiceXML and TwiML.

Same decision, same deadline as `POST /v1/inbound` (inbound/calls.py); only the
way in and the way out differ:

- VoiceXML browsers (Naumen, Avaya, Genesys) fetch a document with the call's fields as
  query or form parameters, authenticated by our API key in a header or as HTTP Basic
  credentials (`https://ivr:<key>@host/...`: many browsers can set nothing else);
- Twilio posts its form-encoded voice webhook, authenticated by X-Twilio-Signature
  (HMAC-SHA1 with the account's auth token over the URL it called and the parameters).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from api.deps import Arrived, CallsDep, IvrKey, SettingsDep
from api.formats import twiml, vxml
from api.schemas import InboundIn
from core.errors import InvalidInput, Unauthorized

router = APIRouter(prefix="/v1/inbound", tags=["inbound"])

VXML_MEDIA = "application/voicexml+xml"
TWIML_MEDIA = "application/xml"
# VXML browsers name the fields after their own platform; these are the usual names.
_ALIASES = {"ani": "caller", "dnis": "dialed", "session_id": "call_id", "node": "ivr_node"}


@router.get("/vxml", response_class=Response)
@router.post("/vxml", response_class=Response)
async def decide_vxml(
    request: Request, calls: CallsDep, settings: SettingsDep, arrived: Arrived, _: IvrKey
) -> Response:
    """The decision as a VoiceXML 2.1 document; the fields of `POST /v1/inbound` as query
    or form parameters (`ani`, `dnis`, `session_id` are read too), plus `end=return`
    when the platform calls the document as a subdialog."""
    fields = dict(request.query_params)
    if request.method == "POST":
        fields.update(twiml.parse_form(await request.body()))
    end = fields.pop("end", "exit")
    if end not in ("exit", "return"):
        raise InvalidInput("end", "must be exit or return")
    values: dict[str, object] = {"channel": "ivr", "caller_kind": "phone"}
    context: dict[str, str] = {}
    for name, value in fields.items():
        name = _ALIASES.get(name, name)
        # The platform's own session variables ride along as context, not as errors.
        if name in InboundIn.model_fields and name != "context":
            values[name] = value
        else:
            context[name] = value
    values["context"] = context
    body = _inbound(values)
    _answer, decision = await calls.answer(body.contact(), arrived)
    end_kind: Literal["exit", "return"] = "return" if end == "return" else "exit"
    document = vxml.render(decision, transfer=settings.ivr.transfer, end=end_kind)
    return Response(document, media_type=VXML_MEDIA, headers={"Cache-Control": "no-store"})


@router.post("/twilio", response_class=Response)
async def decide_twilio(
    request: Request, calls: CallsDep, settings: SettingsDep, arrived: Arrived
) -> Response:
    """Twilio's voice webhook in, TwiML out. A question (`Вы звоните по поводу...?`)
    is asked inside <Gather>, whose answer comes back here with the same CallSid."""
    token = settings.twilio_auth_token
    if token is None:
        raise Unauthorized("Twilio is not configured here (FORECALL_TWILIO_AUTH_TOKEN)")
    pairs = twiml.parse_form(await request.body())
    url = _public_url(request, settings.public_base_url)
    signature = request.headers.get("x-twilio-signature")
    if not twiml.validate_signature(token.get_secret_value(), url, pairs, signature):
        raise Unauthorized("X-Twilio-Signature does not sign this request")
    call = twiml.parse_webhook(pairs)
    body = _inbound({**call.inbound_fields(), "dialed": call.called})
    _answer, decision = await calls.answer(body.contact(), arrived)
    ivr = settings.ivr
    document = twiml.render(
        decision,
        voice=ivr.twilio_voice,
        workflow_sid=ivr.twilio_workflow_sid,
        dial={name: uri.removeprefix("tel:") for name, uri in ivr.transfer.items()},
        gather_action=url,
    )
    return Response(document, media_type=TWIML_MEDIA, headers={"Cache-Control": "no-store"})


def _inbound(values: dict[str, object]) -> InboundIn:
    try:
        return InboundIn.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(field, first["msg"]) from None


def _public_url(request: Request, public_base_url: str | None) -> str:
    """The URL Twilio called, which it signed: behind a proxy that rewrites the host or
    the scheme, the configured public base replaces ours."""
    if not public_base_url:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return public_base_url.rstrip("/") + request.url.path + query
