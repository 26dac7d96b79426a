"""Identities: normalized so that one phone written three ways finds one customer."""

from __future__ import annotations

import re
from enum import StrEnum

import phonenumbers

from core.errors import InvalidInput


class IdentityKind(StrEnum):
    phone = "phone"
    email = "email"
    telegram = "telegram"
    whatsapp = "whatsapp"
    viber = "viber"
    vk = "vk"
    max = "max"
    chat = "chat"
    push = "push"  # a device's registration token (FCM)
    bitrix24 = "bitrix24"  # the CRM contact id
    amocrm = "amocrm"  # the CRM contact id


_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_PUSH_TOKEN = re.compile(r"^[A-Za-z0-9_:-]{20,4096}$")
_HANDLE = re.compile(r"^[A-Za-z0-9_.:@+=-]{1,128}$")


def normalize_phone(value: str, default_region: str, field: str = "phone") -> str:
    try:
        parsed = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidInput(field, f"not a phone number: {_mask(value)}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput(field, f"not a valid phone number: {_mask(value)}")
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def normalize(kind: IdentityKind, value: str, default_region: str, field: str) -> str:
    value = value.strip()
    if kind is IdentityKind.phone:
        return normalize_phone(value, default_region, field)
    if kind is IdentityKind.email:
        if len(value) > 254 or not _EMAIL.match(value):
            raise InvalidInput(field, "not an email address")
        return value.lower()
    if kind is IdentityKind.push:
        # FCM registration tokens run to about 160 characters of [A-Za-z0-9_:-].
        if not _PUSH_TOKEN.match(value):
            raise InvalidInput(field, "not a device token (20-4096 letters, digits, _:-)")
        return value
    if not _HANDLE.match(value):
        raise InvalidInput(field, f"not a valid {kind} id (1-128 letters, digits, _.:@+=-)")
    return value


def _mask(value: str) -> str:
    # Error messages may end up in logs: never echo a whole phone number.
    return value[:3] + "…" if len(value) > 4 else "…"
