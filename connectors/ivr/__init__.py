"""IVR answer formats: generic JSON, VoiceXML 2.1 and Twilio's TwiML.

Each renders a `predictors.arbitration.Decision`; none knows about HTTP. The route picks
one by the caller's format and hands it the decision (or `SAFE_DEFAULT` when degraded).
"""

from connectors.ivr import json_format, twiml, vxml
from connectors.ivr.twiml import (
    TwilioCall,
    compute_signature,
    parse_form,
    parse_webhook,
    validate_signature,
)

__all__ = [
    "TwilioCall",
    "compute_signature",
    "json_format",
    "parse_form",
    "parse_webhook",
    "twiml",
    "validate_signature",
    "vxml",
]
