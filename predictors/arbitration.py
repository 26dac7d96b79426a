"""Next-best-action arbitration, as decision hubs do it: eligibility, suitability, priority.

For each action of the catalogue, in order:
1. eligible: the contact's channel is one of the action's, and its `when` holds;
2. suitable: the contact policy allows it — a marketing action needs marketing consent,
   and no marketing is offered while an incident touches the customer;
3. priority = propensity x context_weight[channel] x value x weight.
The best suitable action with a priority above zero is `top`; without one, the catalogue's
`default`, else the built-in safe default. Every action carries its "why" in plain words.
Ties keep catalogue order, so the file decides and a decision is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import TemplateError as JinjaError

from predictors.action_specs import ActionSpec, IvrSpec, OperatorSpec
from predictors.actions import Action, Catalogue, Text
from predictors.decision import LANGUAGES, VARIABLES, Context, template_values
from predictors.expressions import BOOL, NUMBER, Expression, compile_expression
from predictors.templates import TemplateError
from predictors.wording import number


class Scored:
    """One action's verdict. Its reasons are written when asked for: VoiceXML and TwiML
    answers never show them, so a call does not pay for sentences it will not send.

    `why(locale)` is for the operator, in their language; `trace` is the rule engine's own
    account (the expression, the values it saw, the arithmetic) for those who tune it.
    """

    __slots__ = ("action", "eligible", "suitable", "priority", "_ctx", "_code", "_p", "_note")

    def __init__(
        self,
        action: Action,
        eligible: bool,
        suitable: bool,
        priority: float,
        ctx: Context,
        code: int,
        p: float = 0.0,
        note: str = "",
    ) -> None:
        self.action = action
        self.eligible = eligible
        self.suitable = suitable
        self.priority = priority
        self._ctx = ctx
        self._code = code
        self._p = p
        self._note = note

    @property
    def trace(self) -> str:
        a, code = self.action, self._code
        if code == _CHOSEN:
            weight = a.context_weight[self._ctx.channel]
            return (
                f"eligible: {_condition(a.when, self._ctx, 'holds')}; priority {self._p:.2f}"
                f" x {weight:g} x {a.value:g} x {a.weight:g} = {self.priority:.1f}"
            )
        if code == _FALSE:
            return "not eligible: " + _condition(a.when, self._ctx, "does not hold")
        if code == _CHANNEL:
            return f"not eligible: channel {self._ctx.channel} is not one of the action's"
        if code == _FAILED:
            return f"not eligible: `{a.when.source}` failed: {self._note}"
        if code == _NO_CONSENT:
            return "not suitable: marketing without consent"
        if code == _INCIDENT:
            return "not suitable: no marketing during an active incident"
        return f"not suitable: the propensity `{a.propensity.source}` failed: {self._note}"

    def why(self, locale: str = "ru") -> str:
        """The verdict in the reader's words, without the rule engine's notation."""
        lang = "en" if locale == "en" else "ru"
        words = _WHY[lang]
        if self._code != _CHOSEN:
            return words[self._code]
        a = self.action
        weight = a.context_weight[self._ctx.channel]
        parts = [words["chance"].format(number(self._p, lang)), words["value"].format(a.value)]
        if weight != 1 or a.weight != 1:
            parts.append(words["weight"].format(number(weight * a.weight, lang)))
        return words[_CHOSEN].format(number(self.priority, lang, 1), " × ".join(parts))

    def __repr__(self) -> str:
        return f"Scored({self.action.id}, {self.priority:.1f}, {self.trace!r})"


_CHOSEN, _FALSE, _CHANNEL, _FAILED, _NO_CONSENT, _INCIDENT, _PROPENSITY = range(7)

_WHY: dict[str, dict[int | str, str]] = {
    "ru": {
        _CHOSEN: "Подходит, приоритет {} ({})",
        "chance": "вероятность {}",
        "value": "ценность {:g}",
        "weight": "вес {}",
        _FALSE: "Не подходит: условие действия не выполнено",
        _CHANNEL: "Не подходит: действие не для этого канала",
        _FAILED: "Не подходит: условие не удалось вычислить",
        _NO_CONSENT: "Нельзя: нет согласия клиента на маркетинговые предложения",
        _INCIDENT: "Нельзя: во время аварии маркетинговые предложения не делаются",
        _PROPENSITY: "Нельзя: не удалось вычислить вероятность",
    },
    "en": {
        _CHOSEN: "Suitable, priority {} ({})",
        "chance": "likelihood {}",
        "value": "value {:g}",
        "weight": "weight {}",
        _FALSE: "Not eligible: the action's condition does not hold",
        _CHANNEL: "Not eligible: the action is not for this channel",
        _FAILED: "Not eligible: the condition could not be evaluated",
        _NO_CONSENT: "Not allowed: no marketing consent",
        _INCIDENT: "Not allowed: no marketing offers during an outage",
        _PROPENSITY: "Not allowed: the likelihood could not be evaluated",
    },
}


@dataclass(frozen=True, slots=True)
class IvrInstruction:
    """What the IVR does: say `say` (in `language`), then route to `queue`/`skill`.

    `final` true: route right after speaking; false: the IVR's own dialogue goes on (a
    confirmation question, a self-service menu) and `queue` is where to go from there.
    """

    action_id: str
    prompt_id: str | None
    say: str
    language: str
    queue: str | None
    skill: str | None
    priority: int
    final: bool


@dataclass(frozen=True, slots=True)
class OperatorHint:
    script: str
    offer: str | None
    offers: tuple[tuple[str, str], ...] = ()  # (action id, text) of every suitable offer


@dataclass(frozen=True, slots=True)
class Decision:
    top: Action
    ranked: tuple[Scored, ...]  # the suitable by priority, then the rejected, with the why
    ivr: IvrInstruction
    operator: OperatorHint
    fallback: bool = False  # nothing suitable: top is the default
    degraded: bool = False  # the endpoint could not decide: the safe default
    locale: str = "ru"  # the language of the texts people read (titles, why)


def _priority(scored: Scored) -> float:
    return -scored.priority


def arbitrate(catalogue: Catalogue, ctx: Context) -> Decision:
    channel = ctx.channel
    chosen: list[Scored] = []
    rejected: list[Scored] = []
    for action in catalogue.actions:
        if channel not in action.channels:
            rejected.append(Scored(action, False, False, 0.0, ctx, _CHANNEL))
            continue
        try:
            holds = action.when.fn(ctx)
        except ArithmeticError as exc:
            rejected.append(Scored(action, False, False, 0.0, ctx, _FAILED, note=str(exc)))
            continue
        if not holds:
            rejected.append(Scored(action, False, False, 0.0, ctx, _FALSE))
        elif action.marketing and not ctx.marketing_consent:
            rejected.append(Scored(action, True, False, 0.0, ctx, _NO_CONSENT))
        elif action.marketing and ctx.incident_active:
            rejected.append(Scored(action, True, False, 0.0, ctx, _INCIDENT))
        else:
            try:
                p = min(max(float(action.propensity.fn(ctx)), 0.0), 1.0)
            except ArithmeticError as exc:
                rejected.append(Scored(action, True, False, 0.0, ctx, _PROPENSITY, note=str(exc)))
                continue
            priority = p * action.context_weight[channel] * action.value * action.weight
            chosen.append(Scored(action, True, True, priority, ctx, _CHOSEN, p))
    chosen.sort(key=_priority)
    fallback = not chosen or chosen[0].priority <= 0
    top = (catalogue.default or SAFE_ACTION) if fallback else chosen[0].action
    values = template_values(ctx)
    return Decision(
        top,
        (*chosen, *rejected),
        _ivr(top, chosen, catalogue, ctx, values),
        _operator(top, chosen, values),
        fallback,
        locale=ctx.locale,
    )


def _condition(when: Expression, ctx: Context, verdict: str) -> str:
    if when.constant:
        return "always" if when.value else "never"
    return f"`{when.source}` {verdict} with {when.bindings(ctx)}"


def _ivr(
    top: Action,
    chosen: list[Scored],
    catalogue: Catalogue,
    ctx: Context,
    values: dict[str, object],
) -> IvrInstruction:
    ivr = top.ivr or IvrSpec()
    english = ctx.locale == "en" and top.say_en is not None
    text = _render(top.say_en if english else top.say, values)
    if not text and not ivr.prompt_id:
        english = ctx.locale == "en"
        text = _SAFE_TEXT["en" if english else "ru"]
    route = ivr
    if not (ivr.queue or ivr.skill):
        # A question or a notice routes, afterwards, where the next best action would.
        candidates = [s.action.ivr for s in chosen if s.priority > 0]
        candidates += [catalogue.default.ivr if catalogue.default else None, SAFE_ACTION.ivr]
        route = next(c for c in candidates if c is not None and (c.queue or c.skill))
    return IvrInstruction(
        top.id,
        ivr.prompt_id,
        text,
        LANGUAGES["en" if english else "ru"],
        route.queue,
        route.skill,
        max(ivr.priority, route.priority),
        top.final,
    )


def _operator(top: Action, chosen: list[Scored], values: dict[str, object]) -> OperatorHint:
    offers = tuple(
        (s.action.id, _render(s.action.offer, values))
        for s in chosen
        if s.action.offer is not None and s.priority > 0
    )
    offer = _render(top.offer, values) or None
    return OperatorHint(_render(top.script, values), offer, offers)


def _render(text: Text | None, values: dict[str, object]) -> str:
    if text is None:
        return ""
    try:
        return text.render(values)
    except (TemplateError, JinjaError, KeyError):  # checked at load; the sandbox may refuse
        return ""


_SAFE_TEXT = {
    "ru": "Здравствуйте! Соединяю вас со специалистом, пожалуйста, оставайтесь на линии.",
    "en": "Hello! Connecting you to a specialist, please stay on the line.",
}
_SAFE_SCRIPT = "Автоматическая подсказка недоступна: уточните у клиента причину обращения."


def _safe_action() -> Action:
    spec = ActionSpec(
        id="safe_default",
        title={"ru": "Направить в общую очередь", "en": "Route to the general queue"},
        kind="route",
        value=0.0,
        final=True,
        ivr=IvrSpec(
            prompt_id="safe_default", say=_SAFE_TEXT["ru"], say_en=_SAFE_TEXT["en"], queue="general"
        ),
        operator=OperatorSpec(script=_SAFE_SCRIPT),
    )
    always = compile_expression("true", VARIABLES, expect=BOOL)
    return Action(spec, -1, always, compile_expression("1", VARIABLES, expect=NUMBER))


SAFE_ACTION = _safe_action()


def safe_default(locale: str = "ru") -> Decision:
    """The decision when the endpoint cannot decide: a neutral greeting, the general queue."""
    lang = "en" if locale == "en" else "ru"
    ivr = IvrInstruction(
        SAFE_ACTION.id, "safe_default", _SAFE_TEXT[lang], LANGUAGES[lang], "general", None, 0, True
    )
    return Decision(SAFE_ACTION, (), ivr, OperatorHint(_SAFE_SCRIPT, None), True, True, locale=lang)


SAFE_DEFAULT = safe_default("ru")
