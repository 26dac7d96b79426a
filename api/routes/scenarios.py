"""Follow-up scenarios: what is configured, a template preview, and the performance report
with the uplift against the holdout."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from api.deps import (
    ClockDep,
    EventCatalogueDep,
    FollowupsDep,
    OutboxDep,
    SettingsDep,
    StoreDep,
    require,
)
from api.responses import OrjsonResponse, json_response
from core.apikeys import ApiKey
from core.customers import Customer
from core.errors import InvalidInput, NotFound
from core.events import Event
from core.messages import Status
from predictors.templates import TemplateError
from proactive.followups import stats_id
from proactive.metrics import UNSUBSCRIBE_ALERT, UNSUBSCRIBE_RATE
from proactive.sweep import sweep

router = APIRouter(prefix="/v1/scenarios", tags=["scenarios"])
ManagerKey = Annotated[ApiKey, Depends(require("manager"))]
UNSUBSCRIBE_ALERT_RATE = 0.05


@router.get("", response_class=OrjsonResponse)
async def list_scenarios(followups: FollowupsDep, _: ManagerKey) -> OrjsonResponse:
    """The scenarios in force and the contact policy."""
    scenarios = followups.scenarios
    return json_response(
        {
            "policy": scenarios.policy.model_dump(),
            "scenarios": [s.spec.model_dump(exclude_none=True) for s in scenarios.items],
        }
    )


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict, description="the trigger's fields")
    touch: StrictInt = Field(1, ge=1)
    locale: Literal["ru", "en"] | None = None


@router.post("/{name}/preview", response_class=OrjsonResponse)
async def preview(
    name: str, body: PreviewIn, followups: FollowupsDep, store: StoreDep, _: ManagerKey
) -> OrjsonResponse:
    """A touch's text as a customer would read it, for sample or real values."""
    scenario = followups.scenarios.get(name)
    if scenario is None:
        raise NotFound(f"no scenario {name!r}")
    if body.touch > len(scenario.delays):
        raise InvalidInput("touch", f"{name} has {len(scenario.delays)} touch(es)")
    customer = None
    if body.customer_id is not None:
        raw = await store.get_customer(body.customer_id)
        if raw is None:
            raise NotFound(f"no customer {body.customer_id!r}")
        customer = Customer.model_validate_json(raw)
    event = Event("preview", scenario.spec.trigger, body.customer_id or "", 0.0, body.data)
    values = followups.values(scenario, event, customer)
    values["touch"] = body.touch
    locale = body.locale or (customer.locale if customer else "ru")
    try:
        text = scenario.text(body.touch - 1, locale, values)
    except TemplateError as exc:
        raise InvalidInput("data", f"the template needs more: {exc}") from None
    return json_response(
        {
            "scenario": name,
            "touch": body.touch,
            "locale": locale,
            "text": text,
            "delay_seconds": scenario.delays[body.touch - 1],
        }
    )


@router.post("/sweep", response_class=OrjsonResponse)
async def run_sweep(
    store: StoreDep,
    followups: FollowupsDep,
    catalogue: EventCatalogueDep,
    settings: SettingsDep,
    clock: ClockDep,
    _: ManagerKey,
) -> OrjsonResponse:
    """Run the daily sweep now (inactivity, birthdays); running it again the same day
    schedules nothing twice."""
    result = await sweep(store, followups, catalogue, clock.now(), settings.default_time_zone)
    return json_response(
        {"customers": result.customers, "inactive": result.inactive, "birthdays": result.birthdays}
    )


@router.get("/report", response_class=OrjsonResponse)
async def report(
    followups: FollowupsDep, store: StoreDep, outbox: OutboxDep, _: ManagerKey
) -> OrjsonResponse:
    """Per scenario: the funnel, revenue, and conversion of the treated against the
    holdout with the uplift and its 95% confidence interval."""
    rows = []
    for scenario in followups.scenarios.items:
        by_status = await outbox.counts(scenario.group)
        counters = await store.incident_counts(stats_id(scenario.name))
        told = sum(by_status.get(s.value, 0) for s in (Status.sent, Status.delivered, Status.read))
        treated = _arm(counters.get("treated", 0), counters.get("converted_treated", 0))
        holdout = _arm(counters.get("holdout", 0), counters.get("converted_holdout", 0))
        unsubscribed = counters.get("unsubscribed", 0)
        rate = unsubscribed / treated["customers"] if treated["customers"] else 0.0
        UNSUBSCRIBE_RATE.labels(scenario.name).set(rate)
        UNSUBSCRIBE_ALERT.labels(scenario.name).set(float(rate > UNSUBSCRIBE_ALERT_RATE))
        rows.append(
            {
                "scenario": scenario.name,
                "title": scenario.title("ru"),
                "title_en": scenario.title("en"),
                "category": scenario.spec.category,
                "sent": told,
                "delivered": by_status.get("delivered", 0) + by_status.get("read", 0),
                "read": by_status.get("read", 0),
                "replied": counters.get("replied", 0),
                "converted": treated["converted"],
                "unsubscribed": unsubscribed,
                "unsubscribe_rate": round(rate, 4),
                "unsubscribe_alert": rate > UNSUBSCRIBE_ALERT_RATE,
                "revenue": counters.get("revenue", 0),
                "pending": by_status.get("pending", 0),
                "suppressed": by_status.get("suppressed", 0),
                "cancelled": by_status.get("cancelled", 0),
                "blocked": {
                    k.split(":", 1)[1]: v for k, v in counters.items() if k.startswith("blocked:")
                },
                "treated": treated,
                "holdout": holdout,
                "uplift": uplift(treated, holdout),
            }
        )
    return json_response(rows)


def _arm(customers: int, converted: int) -> dict[str, Any]:
    return {
        "customers": customers,
        "converted": converted,
        "rate": round(converted / customers, 4) if customers else None,
    }


def uplift(treated: dict[str, Any], holdout: dict[str, Any]) -> dict[str, float | None]:
    """The difference of conversion rates with a Wald 95% interval (None until both arms
    have customers)."""
    n1, n2 = treated["customers"], holdout["customers"]
    if not n1 or not n2:
        return {"value": None, "low": None, "high": None}
    p1, p2 = treated["converted"] / n1, holdout["converted"] / n2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    diff = p1 - p2
    return {
        "value": round(diff, 4),
        "low": round(diff - 1.96 * se, 4),
        "high": round(diff + 1.96 * se, 4),
    }
