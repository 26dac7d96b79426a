"""What an outage notice says, in the customer's language and time zone."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.customers import Channel
from core.errors import InvalidInput
from core.incidents import TITLE_MAX, NoticeText
from predictors.templates import DEFAULT_MAX_BYTES, TemplateError, check, render

log = logging.getLogger("forecall.notices")
_CHANNELS = frozenset(c.value for c in Channel)
# The longest values a notice can be rendered with: a submitted template must fit the size
# limit with them, in both branches of `{% if eta %}`.
_SAMPLES = (
    {"title": "Ж" * TITLE_MAX, "eta": "25.11 18:00"},
    {"title": "Ж" * TITLE_MAX, "eta": None},
)

BUILT_IN = {
    "start": {
        "ru": "{{ title }}. Мы уже устраняем неполадку"
        "{% if eta %}, ориентировочно до {{ eta }}{% endif %}. "
        "Звонить не нужно: мы сообщим, когда всё заработает.",
        "en": "{{ title }}. We are already fixing it"
        "{% if eta %}; expected by {{ eta }}{% endif %}. "
        "No need to call: we will tell you when it is back.",
    },
    "update": {
        "ru": "{{ title }}: новое ориентировочное время восстановления — {{ eta }}. "
        "Приносим извинения за неудобства.",
        "en": "{{ title }}: the new expected time of recovery is {{ eta }}. "
        "We apologise for the inconvenience.",
    },
    "resolved": {
        "ru": "{{ title }}: всё снова работает. Спасибо за терпение!",
        "en": "{{ title }}: everything works again. Thank you for your patience!",
    },
}


def format_eta(eta: float | None, zone: ZoneInfo, now: float, locale: str) -> str | None:
    """ "18:00" today, "25.11 18:00" on another day, in the customer's local time; None
    once it has passed: a time already gone is never announced as a promise."""
    if eta is None or eta <= now:
        return None
    local = datetime.fromtimestamp(eta, zone)
    same_day = local.date() == datetime.fromtimestamp(now, zone).date()
    if locale == "en":
        return local.strftime("%H:%M" if same_day else "%b %d, %H:%M")
    return local.strftime("%H:%M" if same_day else "%d.%m %H:%M")


def check_notices(messages: Mapping[Any, NoticeText], max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    """Every text of an incident's own notices compiles in the sandbox and renders within
    the limit; raises InvalidInput naming the first that does not, before anything is
    written."""
    for kind, notice in messages.items():
        texts = [("ru", notice.ru), ("en", notice.en)]
        texts += [(f"channels.{ch.value}.text", own.text) for ch, own in notice.channels.items()]
        for where, source in texts:
            if source is None:
                continue
            try:
                check(source, _SAMPLES, max_bytes)
            except TemplateError as exc:
                raise InvalidInput(f"messages.{kind}.{where}", str(exc)) from None


def notice_text(
    kind: str,
    locale: str,
    title: str,
    eta: str | None,
    custom: NoticeText | None = None,
    channel: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> str:
    """The notice in the customer's language; a channel's own text wins when given."""
    values: dict[str, object] = {"title": title, "eta": eta}
    if custom is not None:
        own = custom.channels.get(Channel(channel)) if channel in _CHANNELS else None
        source = custom.en if locale == "en" and custom.en else custom.ru
        if own is not None and own.text is not None:
            source = own.text
        try:
            return render(source, values, max_bytes)
        except TemplateError as exc:  # checked when declared; the built-in text still goes
            log.warning("custom notice failed, built-in text sent", extra={"error": str(exc)})
    return render(BUILT_IN[kind].get(locale) or BUILT_IN[kind]["ru"], values, max_bytes)


def notice_template(custom: NoticeText | None, channel: str) -> str | None:
    """The approved template a channel must send instead of free text, if any."""
    if custom is None or channel not in _CHANNELS:
        return None
    own = custom.channels.get(Channel(channel))
    return own.template if own is not None else None
