"""IVR answer formats: VoiceXML 2.1 and Twilio's TwiML.

Each renders a `predictors.arbitration.Decision`; none knows about HTTP. The route picks
one by the caller's format and hands it the decision (or `SAFE_DEFAULT` when degraded).
The generic JSON answer is the inbound answer itself (`inbound.answer`).
"""

from api.formats import twiml, vxml
from api.formats.twiml import (
    TwilioCall,
    compute_signature,
    parse_form,
    parse_webhook,
    validate_signature,
)

__all__ = [
    "TwilioCall",
    "compute_signature",
    "parse_form",
    "parse_webhook",
    "twiml",
    "validate_signature",
    "vxml",
]
