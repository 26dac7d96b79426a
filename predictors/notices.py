"""What an outage notice says, in the customer's language and time zone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from predictors.templates import render

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
    """ "18:00" today, "25.11 18:00" on another day, in the customer's local time."""
    if eta is None:
        return None
    local = datetime.fromtimestamp(eta, zone)
    same_day = local.date() == datetime.fromtimestamp(now, zone).date()
    if locale == "en":
        return local.strftime("%H:%M" if same_day else "%b %d, %H:%M")
    return local.strftime("%H:%M" if same_day else "%d.%m %H:%M")


def notice_text(
    kind: str,
    locale: str,
    title: str,
    eta: str | None,
    overrides: Mapping[str, Mapping[str, str | None]] | None = None,
) -> str:
    custom = (overrides or {}).get(kind, {})
    source = custom.get(locale) or custom.get("ru") or BUILT_IN[kind].get(locale)
    return render(source or BUILT_IN[kind]["ru"], {"title": title, "eta": eta})
