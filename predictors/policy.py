"""The contact policy's building blocks: which channels a message may use, and when.

Pure: it is handed the customer, their stop-list and the moment, and answers with the
decision and its reasons. Every outbound message passes through here (DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.customers import Channel, Customer, Purpose

# Which identity kind carries the address for each channel.
ADDRESS_KIND = {
    "sms": "phone",
    "voice": "phone",
    "whatsapp": "whatsapp",
    "viber": "viber",
    "telegram": "telegram",
    "email": "email",
    "push": "push",
    "bitrix24": "bitrix24",
}
FALLBACK_ORDER = ("telegram", "sms", "email", "whatsapp", "viber", "push")
_CHANNELS = frozenset(c.value for c in Channel)


@dataclass(frozen=True)
class QuietHours:
    """Local hours when nothing of a category is sent; `start` > `end` wraps midnight."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(frozen=True)
class PolicyConfig:
    quiet_hours: dict[str, QuietHours] = field(
        default_factory=lambda: {
            "service": QuietHours(time(21), time(9)),
            "transactional": QuietHours(time(22), time(8)),
            "marketing": QuietHours(time(20), time(10)),
        }
    )
    default_time_zone: str = "Europe/Moscow"


@dataclass(frozen=True)
class ChannelChoice:
    routes: list[tuple[str, str]]  # (channel, address) in the order to try
    excluded: dict[str, str]  # channel -> why it is not used


def choose_channels(
    customer: Customer, category: str, stops: set[str], configured: set[str]
) -> ChannelChoice:
    """The customer's channels in their order of preference, minus those the policy
    or the deployment rules out; marketing needs a documented, granted consent."""
    addresses: dict[str, str] = {}
    for identity in customer.identities:
        addresses.setdefault(identity.kind.value, identity.value)
    order = [c.value for c in customer.channel_preferences] or list(FALLBACK_ORDER)
    routes, excluded = [], {}
    for channel in order:
        reason = _exclusion(customer, category, channel, stops, configured, addresses)
        if reason is None:
            routes.append((channel, addresses[ADDRESS_KIND.get(channel, channel)]))
        else:
            excluded[channel] = reason
    return ChannelChoice(routes, excluded)


def _exclusion(
    customer: Customer,
    category: str,
    channel: str,
    stops: set[str],
    configured: set[str],
    addresses: dict[str, str],
) -> str | None:
    if channel in stops:
        return "stop_list"
    if channel not in configured:
        return "channel_not_configured"
    if ADDRESS_KIND.get(channel, channel) not in addresses:
        return "no_address"
    purpose = Purpose.marketing if category == "marketing" else Purpose.service
    consent = customer.consent(purpose, Channel(channel)) if channel in _CHANNELS else None
    if purpose is Purpose.marketing and (consent is None or not consent.granted):
        return "no_marketing_consent"
    if consent is not None and not consent.granted:
        return "consent_withdrawn"
    return None


def local_zone(customer: Customer, config: PolicyConfig) -> ZoneInfo:
    return ZoneInfo(customer.time_zone or config.default_time_zone)


def not_before(
    now: float, zone: ZoneInfo, category: str, critical: bool, config: PolicyConfig
) -> float:
    """`now`, or the end of the customer's quiet hours if `now` falls inside them.
    Critical notices ignore quiet hours: an outage at 23:00 is news at 23:00."""
    quiet = config.quiet_hours.get(category)
    if critical or quiet is None:
        return now
    local = datetime.fromtimestamp(now, zone)
    if not quiet.contains(local.time()):
        return now
    end = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.timestamp()
