"""CRM webhooks arrive as PHP-style forms (`data[FIELDS][ID]=42`, `leads[status][0][id]=7`)."""

from __future__ import annotations

from urllib.parse import parse_qsl


def parse_form(body: bytes) -> dict[str, str]:
    """The form, its nested keys kept flat; {} for a body that is not a form."""
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=500))
    except (UnicodeDecodeError, ValueError):
        return {}
