"""Reference data of the simulated provider: one company selling connectivity (internet,
mobile, TV, landline), goods (an e-shop) and financial products (cards, deposits, loans,
insurance) in several Russian regions.

Plain tuples and dicts: the simulator indexes them with numpy arrays of positions.
"""

from __future__ import annotations

from typing import Final

# (ISO 3166-2 code, IANA zone, network node prefix, share of customers, nodes in region)
REGIONS: Final = (
    ("RU-MOW", "Europe/Moscow", "MOW", 0.28, 40),
    ("RU-SPE", "Europe/Moscow", "SPE", 0.16, 24),
    ("RU-NVS", "Asia/Novosibirsk", "NVS", 0.08, 10),
    ("RU-SVE", "Asia/Yekaterinburg", "SVE", 0.10, 14),
    ("RU-TA", "Europe/Moscow", "TA", 0.09, 12),
    ("RU-KDA", "Europe/Moscow", "KDA", 0.11, 14),
    ("RU-PRI", "Asia/Vladivostok", "PRI", 0.06, 8),
    ("RU-SAM", "Europe/Samara", "SAM", 0.12, 12),
)

SERVICES: Final = ("internet", "mobile", "tv", "landline")
# Services that run over a fixed-line network node (mobile does not).
FIXED_SERVICES: Final = frozenset({"internet", "tv", "landline"})
# Probability of holding each service, by segment (b2c, b2b).
SERVICE_SHARE: Final = {
    "internet": (0.65, 0.90),
    "mobile": (0.70, 0.60),
    "tv": (0.30, 0.05),
    "landline": (0.08, 0.30),
}
SERVICE_PRICE: Final = {"tv": 290.0, "landline": 250.0}

PRODUCTS: Final = ("card_debit", "card_credit", "deposit", "loan", "insurance", "eshop")
PRODUCT_SHARE: Final = {
    "card_debit": (0.45, 0.30),
    "card_credit": (0.15, 0.05),
    "deposit": (0.12, 0.20),
    "loan": (0.08, 0.15),
    "insurance": (0.10, 0.15),
    "eshop": (0.55, 0.40),
}
CARDS: Final = frozenset({"card_debit", "card_credit"})
# What customers apply for online; the application ends in `product_activated`.
APPLICABLE: Final = ("card_credit", "loan", "deposit", "insurance", "card_debit")
APPLICATION_STEPS: Final = ("personal_data", "documents", "income", "confirmation")

# Tariff families by what the customer has; price in roubles a month.
TARIFFS: Final = {
    "home-100": 550.0,
    "home-300": 750.0,
    "home-500": 950.0,
    "mobile-s": 350.0,
    "mobile-m": 550.0,
    "mobile-l": 850.0,
    "combo-300": 1090.0,
    "combo-500": 1390.0,
    "biz-start": 2900.0,
    "biz-office": 7900.0,
    "biz-pro": 19900.0,
}
TARIFF_FAMILIES: Final = {
    "home": ("home-100", "home-300", "home-500"),
    "mobile": ("mobile-s", "mobile-m", "mobile-l"),
    "combo": ("combo-300", "combo-500"),
    "biz": ("biz-start", "biz-office", "biz-pro"),
}
TARIFF_NAMES: Final = tuple(TARIFFS)

CONTACT_REASONS: Final = (
    "outage",
    "payment_failed",
    "order_delayed",
    "billing_question",
    "technical_problem",
    "cancel_intent",
    "cart_help",
    "application_stuck",
    "card_question",
    "deposit_question",
    "other",
)
CONTACT_CHANNELS: Final = ("ivr", "chat", "messenger", "email")
# Channel shares of inbound contacts, by segment: businesses write more email.
CONTACT_CHANNEL_SHARE: Final = ((0.55, 0.20, 0.20, 0.05), (0.45, 0.15, 0.15, 0.25))

MESSAGE_CHANNELS: Final = ("sms", "telegram", "whatsapp", "viber", "email", "push", "voice")
MESSENGERS: Final = frozenset({"telegram", "whatsapp", "viber"})

APP_FEATURES: Final = (
    "balance",
    "payments",
    "tariff_info",
    "traffic_top_up",
    "speed_test",
    "cards",
    "transfers",
    "orders_tracking",
    "cashback",
    "support_chat",
)
APP_FEATURE_SHARE: Final = (0.22, 0.14, 0.10, 0.08, 0.07, 0.12, 0.09, 0.07, 0.06, 0.05)

PAYMENT_FAILURES: Final = ("insufficient_funds", "card_expired", "bank_declined")
PAYMENT_FAILURE_SHARE: Final = (0.6, 0.15, 0.25)

# Real Russian mobile prefixes (MTS, MegaFon, Beeline, T2) that libphonenumber accepts
# over their whole range (+7 930 is only partly allocated, so it is left out).
PHONE_PREFIXES: Final = (
    900, 901, 902, 903, 904, 905, 906, 908, 909, 910, 911, 912, 913, 914, 915, 916, 917,
    918, 919, 920, 921, 922, 923, 924, 925, 926, 927, 928, 929, 931, 932, 933, 934, 936,
    937, 938, 939, 941, 950, 951, 952, 953, 958, 960, 961, 962, 963, 964, 965, 966, 967,
    968, 969, 977, 978, 980, 981, 982, 983, 984, 985, 986, 987, 988, 989, 991, 992, 993,
    994, 995, 996, 997, 999,
)  # fmt: skip
