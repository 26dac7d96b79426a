"""What the next-best-action conditions can see: one `Context` per contact.

The endpoint fills a Context once per call; every condition and propensity in the action
catalogue reads it through the readers of `VARIABLES` (name -> type, description, reader).
Features are read by index from a list made once per call, never through a dictionary.
Missing values are "" and 0, so that every expression is total.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from predictors.expressions import BOOL, LIST, NUMBER, TEXT, Reader, Variable
from predictors.features import FEATURES, INDEX, new_row

CHANNELS = ("ivr", "chat", "messenger")
LANGUAGES = {"ru": "ru-RU", "en": "en-US"}

# The reason in words: Russian in the genitive, to follow «по поводу»; English after "about".
REASON_TITLES: dict[str, dict[str, str]] = {
    "outage": {"ru": "сбоя в работе сервиса", "en": "the service outage"},
    "payment_failed": {"ru": "не прошедшего платежа", "en": "the failed payment"},
    "order_delayed": {"ru": "задержки заказа", "en": "the delayed order"},
    "billing_question": {"ru": "счёта", "en": "your bill"},
    "technical_problem": {"ru": "технической неполадки", "en": "a technical problem"},
    "cancel_intent": {"ru": "расторжения договора", "en": "ending your contract"},
    "cart_help": {"ru": "оформления заказа", "en": "placing your order"},
    "application_stuck": {"ru": "вашей заявки", "en": "your application"},
    "card_question": {"ru": "вашей карты", "en": "your card"},
    "deposit_question": {"ru": "вашего вклада", "en": "your deposit"},
    "other": {"ru": "вашего вопроса", "en": "your question"},
}

# The reason as a label (nominative), for cards, reports and CRM notes.
REASON_NAMES: dict[str, dict[str, str]] = {
    "outage": {"ru": "Авария", "en": "Outage"},
    "payment_failed": {"ru": "Не прошёл платёж", "en": "Failed payment"},
    "order_delayed": {"ru": "Задержка заказа", "en": "Delayed order"},
    "billing_question": {"ru": "Вопрос по счёту", "en": "Billing question"},
    "technical_problem": {"ru": "Техническая неполадка", "en": "Technical problem"},
    "cancel_intent": {"ru": "Расторжение договора", "en": "Ending the contract"},
    "cart_help": {"ru": "Оформление заказа", "en": "Help with the cart"},
    "application_stuck": {"ru": "Заявка не движется", "en": "Stuck application"},
    "card_question": {"ru": "Вопрос по карте", "en": "Card question"},
    "deposit_question": {"ru": "Вопрос по вкладу", "en": "Deposit question"},
    "other": {"ru": "Другое", "en": "Other"},
}
BAND_NAMES: dict[str, dict[str, str]] = {
    "low": {"ru": "низкий", "en": "low"},
    "medium": {"ru": "средний", "en": "medium"},
    "high": {"ru": "высокий", "en": "high"},
}


def reason_name(reason: str, locale: str = "ru") -> str:
    names = REASON_NAMES.get(reason)
    return names.get(locale, names["ru"]) if names else reason


_FIELDS: dict[str, tuple[str, str]] = {
    "channel": (TEXT, 'where the contact came from: "ivr", "chat" or "messenger"'),
    "known": (BOOL, "the caller was identified as a customer"),
    "segment": (TEXT, 'the customer segment, "b2c" or "b2b" ("" when unknown)'),
    "locale": (TEXT, 'the customer\'s language, "ru" or "en"'),
    "reason": (TEXT, "the most likely reason for the contact (a reason id)"),
    "reason_confidence": (NUMBER, "the probability of `reason`, 0..1"),
    "reasons": (LIST, "the top-3 reason ids, most likely first"),
    "churn": (NUMBER, "the churn risk score, 0..1"),
    "churn_band": (TEXT, '"low", "medium" or "high"'),
    "incident_active": (BOOL, "an open incident touches this customer"),
    "incident_title": (TEXT, 'the title of that incident ("" when none)'),
    "incident_eta": (TEXT, 'its expected end in local time, "18:00" ("" when unknown)'),
    "marketing_consent": (BOOL, "the customer has granted marketing consent"),
    "monthly_revenue": (NUMBER, "the customer's monthly revenue, in roubles"),
    "ivr_node": (TEXT, 'the IVR menu node the caller is at ("" when not given)'),
    "utterance_given": (BOOL, "the caller's first words (transcript or chat text) are known"),
    "hour_local": (NUMBER, "the hour of day in the customer's time zone, 0..23"),
    "customer_name": (TEXT, 'the first name to greet with ("" for B2B and unknown callers)'),
    "order_id": (TEXT, 'the latest order\'s id ("" when none)'),
    "cart_value": (NUMBER, "the value of the open cart, in roubles (0 when none)"),
    "live_problem": (
        BOOL,
        "the caller has a problem now: an incident touches them, the profile holds a failed "
        "payment, or the reason is a fault (outage, technical problem, failed payment, "
        "delayed order) at confidence >= 0.6; it comes before any offer",
    ),
}

# Reasons that are a problem the caller has right now, and the confidence that makes
# the prediction one to act on before anything else.
PROBLEM_REASONS = frozenset({"outage", "technical_problem", "payment_failed", "order_delayed"})
PROBLEM_CONFIDENCE = 0.6
_FAILED_SINCE_SUCCESS = INDEX["failed_since_success"]

# Variables the IVR and operator texts (Jinja2) may use, beside every condition variable.
TEMPLATE_VARIABLES: dict[str, str] = {
    "customer_name": "the first name, or empty",
    "reason": "the top reason id",
    "reason_title": "the top reason in words (Russian: genitive, after «по поводу»)",
    "incident_title": "the incident's title, or empty",
    "incident_eta": 'the incident\'s expected end, "18:00" or "25.11 18:00", or empty',
    "order_id": "the latest order's id, or empty",
    "cart_value": "the open cart's value in roubles, as a whole number",
}


class Context:
    """The facts of one contact, as the catalogue's expressions see them."""

    __slots__ = ("features", "values", *_FIELDS)

    def __init__(
        self,
        features: npt.NDArray[np.float32] | None = None,
        *,
        channel: str = "ivr",
        known: bool = False,
        segment: str = "",
        locale: str = "ru",
        reason: str = "other",
        reason_confidence: float = 0.0,
        reasons: Sequence[str] = (),
        churn: float = 0.0,
        churn_band: str = "low",
        incident_active: bool = False,
        incident_title: str = "",
        incident_eta: str = "",
        marketing_consent: bool = False,
        monthly_revenue: float = 0.0,
        ivr_node: str = "",
        utterance_given: bool = False,
        hour_local: float = 12.0,
        customer_name: str = "",
        order_id: str = "",
        cart_value: float = 0.0,
    ) -> None:
        self.features = new_row() if features is None else features
        self.values: list[float] = self.features.reshape(-1).tolist()
        self.channel = channel
        self.known = known
        self.segment = segment
        self.locale = locale if locale in LANGUAGES else "ru"
        self.reason = reason
        self.reason_confidence = float(reason_confidence)
        self.reasons = list(reasons)
        self.churn = float(churn)
        self.churn_band = churn_band
        self.incident_active = incident_active
        self.incident_title = incident_title
        self.incident_eta = incident_eta
        self.marketing_consent = marketing_consent
        self.monthly_revenue = float(monthly_revenue)
        self.ivr_node = ivr_node
        self.utterance_given = utterance_given
        self.hour_local = float(hour_local)
        self.customer_name = customer_name
        self.order_id = order_id
        self.cart_value = float(cart_value)
        self.live_problem = (
            incident_active
            or (known and self.values[_FAILED_SINCE_SUCCESS] > 0)
            or (reason in PROBLEM_REASONS and self.reason_confidence >= PROBLEM_CONFIDENCE)
        )


def _feature(i: int) -> Reader:
    return lambda c: c.values[i]


_FEATURE_TEXT = {
    "days_since_app": "days since an app feature was last used (capped at 180)",
    "days_since_payment_failed": "days since a payment last failed (capped at 180)",
    "days_since_order_status": "days since the latest order last changed status (<= 180)",
    "days_inactive": "days since the last login or app use, whichever is later (<= 180)",
    "login_days_change_30d": "relative change of login days, last 30 days against the 30 before",
    "orders_change_30d": "relative change of orders, last 30 days against the 30 before",
    "order_sum_30d_log": "log(1 + order amounts of the last 30 days)",
    "failed_since_success": "1 if the latest payment failed and none succeeded since",
    "cart_open": "1 if a cart with items is open (not ordered yet)",
    "cart_value_log": "log(1 + value of the open cart)",
    "cart_hours": "hours since the open cart last changed",
    "cart_abandoned": "1 if the shop declared the open cart abandoned",
    "application_open": "1 if an application (loan, card...) is started and not submitted",
    "application_step": "the step the open application is at",
    "application_hours_idle": "hours since the open application last moved",
    "last_contact_unresolved": "1 if the last contact was not resolved",
    "open_rate_change": "message open rate, last 30 days minus the 30 before",
    "deposit_days_to_maturity": "days until the nearest deposit matures (-7..180)",
    "deposit_maturing_30d": "1 if a deposit matures within 30 days (or did last week)",
    "segment_b2b": "1 for a business customer",
    "monthly_revenue_log": "log(1 + monthly revenue)",
    "payments_30d_to_revenue": "payments of the last 30 days over the monthly revenue (<= 10)",
    "affected_by_outage": "1 if an open incident touches the customer",
    "delivered_90d": "messages delivered to the customer in 90 days",
}


_COUNTED = {
    "login_days": "days with a login",
    "app_days": "days with app use",
    "payments_ok": "successful payments",
    "payments_failed": "failed payments",
    "open_rate": "share of delivered messages opened",
    "reply_rate": "share of delivered messages replied to",
}


def _describe_feature(name: str) -> str:
    if name in _FEATURE_TEXT:
        return _FEATURE_TEXT[name]
    for prefix, text in (
        ("days_since_", "days since the last {} (capped at 180)"),
        ("order_", "1 if the latest order is {}"),
        ("last_reason_", "1 if the last contact's reason was {}"),
        ("service_", "1 if the customer has the {} service"),
        ("product_", "1 if the customer has the {} product"),
    ):
        if name.startswith(prefix):
            rest = name[len(prefix) :]
            return text.format(rest if prefix == "last_reason_" else rest.replace("_", " "))
    for suffix, days in (
        ("_7d", "the last 7"),
        ("_prev_30d", "the 30 days before the last 30"),
        ("_30d", "the last 30"),
        ("_90d", "the last 90"),
    ):
        if name.endswith(suffix):
            what = _COUNTED.get(name[: -len(suffix)], name[: -len(suffix)].replace("_", " "))
            return f"{what} in {days} days"
    return "profile feature"


def _schema() -> dict[str, Variable]:
    variables = {name: Variable(type_, text) for name, (type_, text) in _FIELDS.items()}
    for i, name in enumerate(FEATURES):
        if name in variables:
            raise RuntimeError(f"feature {name} shadows a context field")
        variables[name] = Variable(NUMBER, f"feature: {_describe_feature(name)}", _feature(i))
    return variables


VARIABLES: dict[str, Variable] = _schema()


def template_values(ctx: Context) -> dict[str, Any]:
    """The values a `say`, `script` or `offer` template is rendered with."""
    titles = REASON_TITLES.get(ctx.reason) or REASON_TITLES["other"]
    return {
        "customer_name": ctx.customer_name,
        "reason": ctx.reason,
        "reason_title": titles.get(ctx.locale, titles["ru"]),
        "incident_title": ctx.incident_title,
        "incident_eta": ctx.incident_eta,
        "order_id": ctx.order_id,
        "cart_value": f"{ctx.cart_value:.0f}",
    }
