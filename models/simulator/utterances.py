"""What callers say first: the opening chat message, or the IVR's speech transcript.

Each contact gets one utterance in the customer's locale, drawn from a small phrase
grammar of its reason. Templates use `{a|b}` for alternatives, `[x]` for optional parts
and `<slot>` for the caller's own data (an order number, the tariff, the product applied
for); an optional part whose slot the caller lacks is left out. On top of the grammar:
greetings and politeness, speech-recognition damage for the IVR (lower case, no
punctuation, dropped and misheard words, hesitations) and typing slips in chats.

So that the text is a real but imperfect signal, a share of callers say nothing useful
("алло", "оператор": `VAGUE`), and some say what fits two reasons equally (`AMBIGUOUS`:
"не работает интернет" is an outage or a fault; only the context tells them apart).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any, Literal, TypeVar, Union

import numpy as np

from models.simulator import catalog
from models.simulator.population import Ints, Population
from models.simulator.stream import EventTable

VAGUE = 0.12  # callers whose first words say nothing about why they call
AMBIGUOUS = 0.10  # of the others: callers whose words fit their reason and another equally
Kind = Literal["clear", "ambiguous", "vague"]
Slots = dict[str, str]
_T = TypeVar("_T")

# Chance per utterance of each decoration; per word of each kind of damage.
GREETING = {"ivr": 0.25, "chat": 0.45, "messenger": 0.35, "email": 0.9}
PREFACE = 0.25
CLOSING = {"ivr": 0.1, "chat": 0.25, "messenger": 0.2}
ASR_DROP, ASR_MISHEAR, ASR_HESITATE, ASR_CUT = 0.08, 0.25, 0.3, 0.1
TYPO, LOWER_CASE = 0.03, 0.35


@dataclass(frozen=True)
class Language:
    """A language's phrase grammar (`phrases`: sections headed `== reason`, one template
    a line; a section headed by two reasons holds what fits both) and its decorations."""

    phrases: str
    vague_chat: tuple[str, ...]
    vague_ivr: tuple[str, ...]
    greeting: tuple[str, ...]
    preface: tuple[str, ...]
    closing: tuple[str, ...]
    email_greeting: tuple[str, ...]
    email_closing: tuple[str, ...]
    home: tuple[str, ...]
    office: tuple[str, ...]
    fallback: dict[str, tuple[str, ...]]  # slot -> what callers say without their data
    misheard: dict[str, tuple[str, ...]]
    hesitation: tuple[str, ...]

    @cached_property
    def sections(self) -> dict[frozenset[str], tuple[str, ...]]:
        out: dict[frozenset[str], list[str]] = {}
        current: list[str] = []
        for line in self.phrases.splitlines():
            line = line.strip()
            if line.startswith("=="):
                current = out.setdefault(frozenset(line[2:].split()), [])
            elif line:
                _compile(line)  # a malformed template fails here, not mid-draw
                current.append(line)
        return {reasons: tuple(lines) for reasons, lines in out.items()}

    @cached_property
    def clear(self) -> dict[str, tuple[str, ...]]:
        return {next(iter(rs)): lines for rs, lines in self.sections.items() if len(rs) == 1}

    @cached_property
    def ambiguous(self) -> dict[str, list[tuple[str, ...]]]:
        pools: dict[str, list[tuple[str, ...]]] = {}
        for reasons, lines in self.sections.items():
            if len(reasons) > 1:
                for reason in sorted(reasons):
                    pools.setdefault(reason, []).append(lines)
        return pools


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


@dataclass(frozen=True)
class Callers:
    """Who says what, one entry per contact."""

    reason: Sequence[str]
    channel: Sequence[str]
    english: Sequence[bool]
    b2b: Sequence[bool]
    slots: Sequence[Slots]  # the caller's own data by slot name; absent when unknown


@dataclass(frozen=True)
class Utterances:
    text: list[str]
    kind: list[Kind]


def draw(rng: np.random.Generator, callers: Callers) -> Utterances:
    """One utterance per contact; the same generator state gives the same texts."""
    # Python's generator: hundreds of tiny draws per text, far cheaper than numpy's scalars.
    r = random.Random(int(rng.integers(2**63)))
    texts: list[str] = []
    kinds: list[Kind] = []
    for reason, channel, english, b2b, own in zip(
        callers.reason, callers.channel, callers.english, callers.b2b, callers.slots, strict=True
    ):
        lang = ENGLISH if english else RUSSIAN
        slots = {**own, "place": _pick(r, lang.office if b2b else lang.home)}
        roll = r.random()
        kind: Kind
        if roll < VAGUE:
            kind = "vague"
            template = _pick(r, lang.vague_ivr if channel == "ivr" else lang.vague_chat)
        elif roll < VAGUE + AMBIGUOUS * (1 - VAGUE) and reason in lang.ambiguous:
            kind = "ambiguous"
            template = _pick(r, _pick(r, lang.ambiguous[reason]))
        else:
            kind = "clear"
            template = _pick(r, lang.clear[reason])
        core = _expand(r, _compile(template), slots, lang, optional=False) or ""
        texts.append(_dress(r, core, channel, lang, kind != "vague"))
        kinds.append(kind)
    return Utterances(texts, kinds)


def callers(
    pop: Population,
    table: EventTable,
    cust: Ints,
    position: Ints,
    reasons: Sequence[str],
    channels: Sequence[str],
) -> Callers:
    """The callers of contacts at table `position`s, with what they know at that moment:
    their latest order, the product they last applied for, their latest declined
    payment and their tariff then."""
    order = _latest(table, "order_placed", "order_id", cust, position)
    product = _latest(table, "application_started", "product", cust, position)
    amount = _latest(table, "payment_failed", "amount", cust, position)
    tariff = _latest(table, "tariff_changed", "tariff", cust, position)
    services = pop.services[cust].tolist()
    start_tariff = pop.tariff[cust].tolist()
    english = pop.english[cust].tolist()
    slots: list[Slots] = []
    for k in range(len(cust)):
        own: Slots = {}
        if order[k] is not None:
            own["order"] = str(int(str(order[k])[1:]))
        if product[k] is not None:
            own["product"] = PRODUCT_WORDS[english[k]][str(product[k])]
        if amount[k] is not None:
            own["amount"] = f"{round(float(amount[k]))}"
        name = str(tariff[k]) if tariff[k] is not None else catalog.TARIFF_NAMES[start_tariff[k]]
        own["tariff"] = TARIFF_WORDS[english[k]][name]
        held = [s for s, on in zip(catalog.SERVICES, services[k], strict=True) if on]
        if held:
            own["service"] = SERVICE_WORDS[english[k]][held[0]]
        slots.append(own)
    return Callers(reasons, channels, english, pop.b2b[cust].tolist(), slots)


def _latest(table: EventTable, type_: str, field: str, cust: Ints, position: Ints) -> list[Any]:
    """`data[field]` of each customer's latest event of `type_` before `position`."""
    code = table.types.index(type_) if type_ in table.types else -1
    rows = np.flatnonzero(table.type_of == code)
    if not len(rows):
        return [None] * len(cust)
    width = len(table) + 1
    keys = table.cust[rows] * width + rows  # rows ascend, so keys ascend within a customer
    order = np.argsort(keys, kind="stable")
    keys, rows = keys[order], rows[order]
    at = np.searchsorted(keys, cust * width + position) - 1
    hit = (at >= 0) & (keys[np.maximum(at, 0)] // width == cust)
    picked = rows[np.maximum(at, 0)].tolist()
    return [
        table.data[row][field] if ok else None for row, ok in zip(picked, hit.tolist(), strict=True)
    ]


# --- the grammar engine -------------------------------------------------------------

Node = Union[str, "Slot", "Alt", "Opt", "Seq"]


@dataclass(frozen=True)
class Slot:
    name: str


@dataclass(frozen=True)
class Seq:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Alt:
    options: tuple[Seq, ...]


@dataclass(frozen=True)
class Opt:
    body: Seq


_TOKEN = re.compile(r"[{}\[\]|]|<\w+>|[^{}\[\]|<]+")


@cache
def _compile(template: str) -> Seq:
    tokens = _TOKEN.findall(template)
    seq, end = _parse(tokens, 0, template)
    if end != len(tokens):
        raise ValueError(f"unbalanced template: {template!r}")
    return seq


def _parse(tokens: list[str], at: int, template: str) -> tuple[Seq, int]:
    parts: list[Node] = []
    while at < len(tokens):
        token = tokens[at]
        if token in ("}", "]", "|"):
            break
        if token == "{":
            options: list[Seq] = []
            while True:
                option, at = _parse(tokens, at + 1, template)
                options.append(option)
                if at >= len(tokens):
                    raise ValueError(f"unclosed {{ in template: {template!r}")
                if tokens[at] == "}":
                    break
            parts.append(Alt(tuple(options)))
        elif token == "[":
            body, at = _parse(tokens, at + 1, template)
            if at >= len(tokens) or tokens[at] != "]":
                raise ValueError(f"unclosed [ in template: {template!r}")
            parts.append(Opt(body))
        elif token.startswith("<"):
            parts.append(Slot(token[1:-1]))
        else:
            parts.append(token)
        at += 1
    return Seq(tuple(parts)), at


def _expand(
    r: random.Random, node: Node, slots: Slots, lang: Language, optional: bool
) -> str | None:
    """The text of `node`; None when it needs a slot the caller lacks inside `[...]`."""
    if isinstance(node, str):
        return node
    if isinstance(node, Slot):
        value = slots.get(node.name)
        if value is not None:
            return value
        return None if optional else _pick(r, lang.fallback[node.name])
    if isinstance(node, Alt):
        return _expand(r, _pick(r, node.options), slots, lang, optional)
    if isinstance(node, Opt):
        if r.random() < 0.5:
            return ""
        return _expand(r, node.body, slots, lang, optional=True) or ""
    out: list[str] = []
    for part in node.parts:
        text = _expand(r, part, slots, lang, optional)
        if text is None:
            return None
        out.append(text)
    return "".join(out)


def _pick(r: random.Random, items: Sequence[_T]) -> _T:
    return items[int(r.random() * len(items))]


# --- how it reaches us: politeness, speech recognition, typing -----------------------

_SPACES = re.compile(r"\s+")
_BEFORE_PUNCT = re.compile(r"\s+([,.?!])")
_PUNCT = re.compile(r"[^\w\s№-]")


def _dress(r: random.Random, core: str, channel: str, lang: Language, polite: bool) -> str:
    parts: list[str] = []
    if channel == "email":
        parts.append(_pick(r, lang.email_greeting))
    elif polite and r.random() < GREETING[channel]:
        parts.append(_pick(r, lang.greeting) + ",")
    if polite and r.random() < PREFACE:
        parts.append(_pick(r, lang.preface))
    parts.append(core)
    if channel == "email":
        parts.append(". " + _pick(r, lang.email_closing))
    elif polite and r.random() < CLOSING[channel]:
        parts.append(", " + _pick(r, lang.closing))
    text = _BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", " ".join(parts))).strip(" ,")
    if channel == "ivr":
        return _transcribe(r, text, lang)
    return _type(r, text, channel)


def _transcribe(r: random.Random, text: str, lang: Language) -> str:
    """What a speech recogniser makes of it: lower case, no punctuation, and mistakes."""
    words = _PUNCT.sub(" ", text.lower().replace("ё", "е")).split()
    out: list[str] = []
    for word in words:
        roll = r.random()
        if roll < ASR_DROP and len(words) > 2:
            continue
        if roll < ASR_DROP + ASR_MISHEAR and word in lang.misheard:
            word = _pick(r, lang.misheard[word])
        out.append(word)
    if r.random() < ASR_HESITATE and out:
        out.insert(int(r.random() * len(out)), _pick(r, lang.hesitation))
    if r.random() < ASR_CUT and len(out) > 3:
        out = out[: len(out) - 1 - int(r.random() * 2)]
    return " ".join(out) or _pick(r, lang.hesitation)


def _type(r: random.Random, text: str, channel: str) -> str:
    """What a person types in a hurry: lower case, slips, no closing punctuation."""
    if channel != "email" and r.random() < LOWER_CASE:
        text = text.lower()
    elif text:
        text = text[0].upper() + text[1:]
    if channel != "email" and r.random() < 0.5:
        text = text.replace("ё", "е")
    words = text.split(" ")
    for k, word in enumerate(words):
        if len(word) > 3 and word.isalpha() and r.random() < TYPO:
            at = 1 + int(r.random() * (len(word) - 2))
            slip = r.random()
            if slip < 0.4:
                word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
            elif slip < 0.7:
                word = word[:at] + word[at + 1 :]
            else:
                word = word[:at] + word[at] + word[at:]
            words[k] = word
    text = " ".join(words)
    ending = r.random()
    if ending < 0.3 and text[-1:].isalnum():
        text += "?" if ending < 0.15 else "."
    return text


# --- what people say -----------------------------------------------------------------

_RUSSIAN_PHRASES = """
== outage
{у меня|у нас|} <place> {не работает|пропал|отключился|лёг} <service> {с утра|уже час|}
{у меня|у нас} {со вчерашнего вечера|второй час|с обеда} нет <service>
нет {связи|интернета|сети} {с утра|уже час|второй час|со вчера|с обеда}[, у соседей тоже]
когда {дадут|включат|починят|восстановят} {интернет|связь|сеть|телевидение}
роутер мигает красным, {соседи тоже без сети|у соседей тоже не работает}
{у вас авария|что-то случилось на линии|вы что-то ремонтируете}[?] нет {интернета|связи}
{во всём доме|по всему району|во всём подъезде} нет {интернета|связи}
пропал {интернет и телевидение|интернет и тв|и интернет и телефон} {одновременно|сразу}
у соседей тоже {нет интернета|не работает}, это авария
{сколько ещё|как долго} не будет {интернета|связи|сети}
{когда закончатся|долго ещё будут} работы на линии
{весь дом|весь район|вся улица} без {интернета|связи}[, когда {почините|включите}]
{вы нас отключили|нас отключили что ли}[?] {ничего не работает|всё пропало}
{авария|отключение} {в нашем районе|по нашему адресу}, {когда исправят|сроки какие}
{инета|интернета|связи} нет {второй день|третий день|со вчерашнего дня|с самого утра}
{что с|что случилось с} {интернетом|инетом|связью|сетью}[ у вас][, не работает]
{инет|интернет} {не пашет|вырубился|отрубился} {во всём доме|у всех соседей|по всему району}
== technical_problem
{инет|интернет|вайфай} {глючит|тупит|лагает|виснет} {второй день|всю неделю|постоянно|}
{роутер|модем|приставка} {сдох|сдохла|глючит|не фурычит|не пашет}
{очень|совсем|} {медленный|тормозит|еле грузится|еле работает} интернет
скорость {упала|ниже чем по тарифу|не соответствует тарифу}[ <tariff>]
{wi-fi|вай фай|вайфай} постоянно {отваливается|пропадает|отключается}
роутер {не раздаёт интернет|сам перезагружается|не видит сеть|не включается}
{приставка|тв приставка|телевизор} {не показывает каналы|зависает|пишет ошибку}
интернет {то есть то нет|периодически пропадает|постоянно обрывается|пропадает по вечерам}
не могу {настроить роутер|подключить телевизор|подключить новый роутер|настроить приставку}
{мобильный интернет|связь на телефоне} {плохо ловит|не работает в квартире|пропадает}
{опять|снова|всё ещё} не работает[ <service>], {я уже звонил|уже обращалась}
{опять|снова} не работает, {мастер так и не пришёл|заявку закрыли а проблема осталась}
{нужен мастер|вызовите мастера}, {кабель перебит|порвался кабель|розетка сгорела}
{пинг большой|большие задержки}, {игры лагают|видео зависает}
ошибка {651|691|678} при подключении
{домашний телефон|стационарный телефон} {не работает|шипит|нет гудка}
{видео|фильмы|онлайн кинотеатр} {постоянно грузится|тормозит}, скорость низкая
== payment_failed
не проходит оплата {картой|по карте|через приложение|через сайт}
списали деньги а платёж не {прошёл|зачислился}
{пытаюсь|не могу} оплатить[ <amount> рублей], пишет {ошибка|отказ|операция отклонена}
платёж {отклонён|не прошёл|завис}[ на <amount> рублей]
оплата не {проходит|прошла} уже {второй раз|третий раз|несколько раз}
{банк|система} отклоняет {платёж|оплату}
почему {отклонили|не прошёл} {мой платёж|автоплатёж|платёж}[ на <amount>]
автоплатёж не {сработал|прошёл}[, пишет ошибка]
пишет недостаточно средств, {но деньги на карте есть|хотя деньги есть}
не могу {пополнить баланс|внести платёж|заплатить за услуги}, {ошибка|отказ}
{ошибка|отказ} при оплате[ <amount> рублей]
== order_delayed
где мой заказ[ <order>]
заказ[ <order>] {до сих пор не доставили|не привезли|задерживается}
{когда привезут|когда доставят|когда будет доставка} {заказ|мой заказ}[ <order>]
заказ {должны были привезти вчера|задерживается уже неделю|опаздывает}
статус заказа[ <order>] {не меняется|задерживается|висит в пути}
курьер {не приехал|так и не привёз заказ|не звонил}
{сорвали|перенесли|пропустили} сроки доставки[ заказа <order>]
оформил{|а} заказ[ <order>] {неделю назад|пять дней назад|давно} и {тишина|до сих пор нет}
доставка {задерживается|опаздывает}, {где посылка|что с посылкой}
{обещали|должны были} доставить {вчера|в понедельник|ещё на той неделе}[, заказ <order>]
== billing_question
{почему|откуда} такой большой счёт[ в этом месяце]
списали больше {чем обычно|чем по тарифу}[ <tariff>]
{не понимаю|объясните} за что {списали|начислили} {деньги|<amount> рублей}
{после смены тарифа|поменяли тариф и} {счёт вырос|стало дороже|платить больше}
пришёл счёт {на большую сумму|больше обычного|в два раза больше}
что за {начисление|списание|доп услуга} в счёте
нужна детализация {счёта|расходов|звонков}
как {получить|скачать} {счёт|закрывающие документы|акт сверки|счёт фактуру}
почему {выросла|поднялась} абонентская плата[ по тарифу <tariff>]
{вернуть деньги|перерасчёт} за {неоказанные услуги|дни без интернета}
сколько {платить|к оплате} в этом месяце[ по тарифу <tariff>]
{откуда|почему} {задолженность|минус} на балансе
== cancel_intent
хочу {расторгнуть договор|расторгнуть контракт|отказаться от ваших услуг}
как {отключить услугу|отключить интернет|закрыть договор|расторгнуть договор}
{переходим|переезжаю|ухожу} к другому {провайдеру|оператору|банку}
{не буду больше|не хочу больше} пользоваться вашими услугами
{как|можно ли} закрыть {карту|счёт} и {расторгнуть|разорвать} договор
надоело, {отключайте|отключите меня|расторгайте}
{мне|нам} нужно расторжение договора
какие документы нужны для {расторжения|расторжения договора}
{переезжаем|съезжаем}, {интернет больше не нужен|услуги больше не нужны}
{у конкурентов|у других} дешевле, {ухожу|хочу уйти|будем расторгать}
{заберите|верните} оборудование и {закройте|расторгните} договор
хочу {отказаться от тарифа <tariff>|отключиться совсем}
== cart_help
не могу оформить заказ[ в корзине]
корзина {не сохраняется|очищается|не открывается}
{как|не получается} применить промокод
товар из корзины {пропал|исчез}
кнопка {оформить заказ|перейти к оплате} не {работает|нажимается}
{есть ли|когда будет} товар в наличии
{как выбрать|не могу выбрать} {способ доставки|пункт выдачи}
положил{|а} товар в корзину а цена {другая|изменилась}
{помогите|не получается} {оформить покупку|выбрать товар|собрать корзину}
{скидка|промокод} не {применяется|работает} в корзине
== application_stuck
{подал|подала|оставил|оставила} заявку на <product> {и тишина|а ответа нет|неделю назад}
заявка[ на <product>] {висит|зависла|на рассмотрении} {уже неделю|третий день|давно}
{не могу|не получается} {загрузить документы|продолжить заявку|закончить оформление}
что с моей заявкой[ на <product>]
{анкета|заявка} {не отправляется|выдаёт ошибку} на шаге {с документами|с доходом}
когда {одобрят|рассмотрят} {заявку|мою заявку}[ на <product>]
застрял{|а} на {подтверждении|загрузке паспорта|шаге с доходами}
статус заявки {не меняется|не обновляется}
{начал|начала} оформлять <product> {и не могу закончить|а дальше не пускает}
== card_question
{как|хочу} {заблокировать|перевыпустить|активировать} карту
{потерял|потеряла|у меня украли} карту
{какой|уточнить|хочу узнать} лимит по карте
{кэшбэк|кешбек} {не начислили|не пришёл}
{когда придёт|где} {новая карта|перевыпущенная карта}
{забыл|не помню} пин{-|}код[ от карты]
{как|можно ли} {увеличить|поменять} {кредитный лимит|лимит по карте}
{сколько стоит|плата за} обслуживание карты
как {привязать|подключить} карту к {телефону|мир pay|sberpay}
{льготный период|грейс период} по кредитке {как считается|когда заканчивается}
{хочу|как} {заказать|оформить} {вторую карту|дополнительную карту}
== deposit_question
{вклад|депозит} {заканчивается|истекает}, {что дальше|как продлить|можно продлить}
какие {сейчас|} ставки по {вкладам|депозитам}
{хочу|как} {снять|забрать} {деньги со вклада|проценты по вкладу}
{будет ли пролонгация|продлится ли} {вклада|депозита}
{когда|куда} {придут|начислят} проценты[ по вкладу]
условия {досрочного снятия|закрытия вклада|пополнения вклада}
{срок вклада|вклад} {подходит к концу|закончился}, {куда деньги|что с деньгами}
{можно ли|как} пополнить {вклад|депозит}
== other
{как|хочу} {сменить|поменять} {номер телефона|адрес|паспортные данные} в договоре
{не могу|не получается} войти в личный кабинет
{забыл|сбросить} пароль[ от личного кабинета]
где {ближайший офис|ваш офис|можно подписать документы}
{хочу|можно} {оставить отзыв|пожаловаться на сотрудника|поблагодарить мастера}
{какие|есть ли} {акции|скидки} {сейчас|для пенсионеров|для новых абонентов}
как {подключить|добавить} {антивирус|дополнительный номер|родительский контроль}
{режим работы|часы работы} {офиса|поддержки}
нужна справка {об оплате|для налоговой|о наличии договора}
звоню по поводу {письма|смс|сообщения} которое {пришло|вы прислали}
переоформить договор на {мужа|жену|маму|другого человека}
{как|куда} {прислать|отправить} {документы|скан паспорта}
== outage technical_problem
{не работает|пропал|нет} {интернет|интернета}
{инет|интернет} не {пашет|фурычит|работает} {второй день|третий день|уже несколько дней|со вчера|}
{инет|интернет} {отвалился|отрубился|вырубился|пропал} {второй день|опять|}
{ничего не грузится|сайты не открываются}
не работает {телевидение|тв|<service>}
роутер {горит|мигает} {красным|оранжевым}
== payment_failed billing_question
{проблема|вопрос} с оплатой
{списали|сняли} деньги {дважды|два раза}
деньги списались{,| но} на балансе не видно
== payment_failed card_question
{карта|моя карта} не {проходит|работает}
{отклоняют|не принимают} карту
== order_delayed cart_help
{вопрос|проблема} {по заказу|с заказом}
хочу {изменить|поменять} заказ
== cart_help payment_failed
не могу оплатить {заказ|покупку|товар}
== application_stuck card_question
{по поводу|вопрос по} заявки на карту
оформляю карту{, вопрос|}
== application_stuck deposit_question
хочу открыть вклад{ онлайн|} {не получается|а не получается|как}
== cancel_intent billing_question
{слишком дорого|дорого плачу|дорого выходит}
хочу {сменить|поменять} тариф
== cancel_intent technical_problem
{сколько можно|надоело}, {постоянно|опять} не работает
== other billing_question
вопрос по договору
{нужны|хочу получить} документы
== deposit_question card_question
вопрос по {счёту|банковским продуктам}
"""

_ENGLISH_PHRASES = """
== outage
{my|our} {internet|connection|<service>} {is down|went down|stopped working}
no {internet|signal|connection} {since morning|for two hours|since last night}
when will the {internet|connection|service} be back
{is there an outage|is something wrong with the network} in my area
the whole {building|street} has no internet
== technical_problem
{internet is|my internet is} {very slow|slow|lagging}
{wifi|the wi-fi} keeps {dropping|disconnecting}
{router|the router} {keeps rebooting|will not turn on|does not see the network}
{tv box|set top box} {shows no channels|freezes}
speed is lower than {my plan|the tariff}[ <tariff>]
{still|again} not working, {i already called|the technician never came}
== payment_failed
{my payment|the payment} {failed|was declined|did not go through}[ for <amount> rub]
{cannot|can't} pay {by card|in the app}, {it says error|declined}
money was taken but the payment {failed|did not go through}
autopay {failed|did not work}
== order_delayed
where is my order[ <order>]
order[ <order>] {is late|has not arrived|is delayed}
when will {my order|the order}[ <order>] be delivered
the courier {never came|did not show up}
== billing_question
why is my bill {so high|higher this month}
what is this {charge|fee} on my bill
i was charged more than {usual|my plan}[ <tariff>]
{need|how do i get} {an invoice|a detailed bill}
== cancel_intent
i want to {cancel my contract|terminate the contract|cancel the service}
how do i {cancel|close my account|disconnect}
{we are switching|i am moving} to another provider
{please disconnect me|i do not need the service anymore}
== cart_help
{cannot|can't} {check out|place the order} from my cart
{promo code|discount} {does not work|is not applied}
my cart {is empty|keeps clearing|lost the items}
is this item in stock
== application_stuck
i applied for <product> {a week ago|and heard nothing}
my application[ for <product>] is {stuck|pending for days}
{cannot|can't} {upload documents|finish the application}
what is the status of my application
== card_question
{i lost my card|my card was stolen}
how do i {block|reissue|activate} my card
{what is|how to raise} my card limit
{cashback|my cashback} {was not credited|is missing}
{forgot|reset} my {pin|card pin}
== deposit_question
my deposit {is maturing|ends soon}, {how do i extend it|what next}
what are the {deposit rates|rates on deposits}
how do i withdraw {my deposit|the interest}
when is the interest {paid|credited}
== other
how do i change my {phone number|address} {in the contract|in my account}
{cannot|can't} log in to my account
where is {your office|the nearest office}
{any|are there} {discounts|promotions} {now|for me}
{i want to|how do i} leave {feedback|a complaint}
== outage technical_problem
internet {not working|is not working}
== payment_failed billing_question
problem with {a|my} payment
== payment_failed card_question
my card {does not work|is declined}
== order_delayed cart_help
question about my order
== cart_help payment_failed
{cannot|can't} pay for my order
== application_stuck card_question
about my card application
== application_stuck deposit_question
opening a deposit online
== cancel_intent billing_question
{too expensive|i pay too much}
== cancel_intent technical_problem
it never works, i am tired
== other billing_question
question about my contract
== deposit_question card_question
question about my account
"""

RUSSIAN = Language(
    phrases=_RUSSIAN_PHRASES,
    vague_chat=_words(
        "здравствуйте|добрый день|у меня вопрос|можно вопрос|оператор|позовите оператора|"
        "помогите|есть кто|привет|мне нужна консультация|?|здравствуйте, нужна помощь|"
        "соедините с человеком"
    ),
    vague_ivr=_words(
        "алло|алло алло|оператор|оператора|соедините с оператором|соедините с человеком|"
        "живой человек|да|здравствуйте|у меня вопрос|вопрос|мне нужна помощь|поддержка|"
        "не знаю|помогите|девушка"
    ),
    greeting=_words("здравствуйте|добрый день|добрый вечер|доброе утро|привет|здрасте|алло"),
    preface=_words(
        "подскажите пожалуйста|скажите|у меня такой вопрос|хотел спросить|хотела узнать|"
        "помогите пожалуйста|слушайте|вот|девушка"
    ),
    closing=_words(
        "спасибо|заранее спасибо|помогите разобраться|что делать|подскажите что делать|"
        "ответьте пожалуйста|жду ответа"
    ),
    email_greeting=_words("Добрый день!|Здравствуйте!|Здравствуйте.|Добрый день."),
    email_closing=_words("С уважением.|Спасибо.|Прошу разобраться.|Жду ответа."),
    home=_words("дома|в квартире|на даче|"),
    office=_words("в офисе|у нас в офисе|на складе|"),
    fallback={
        "service": ("интернет",),
        "product": _words("карту|кредит|кредитную карту"),
        "tariff": ("тариф",),
        "order": ("",),
        "amount": ("",),
    },
    misheard={
        "интернет": _words("интер нет|интерне"),
        "оплата": _words("оплату|лопата"),
        "заказ": _words("рассказ|за каз"),
        "карта": _words("карты|парта"),
        "карту": _words("карты|карте"),
        "договор": _words("до говор|договора"),
        "вклад": _words("склад|в клад"),
        "тариф": _words("тарифы|тари"),
        "роутер": _words("раутер|рутер"),
        "заявку": _words("заявка|заявки"),
        "счет": _words("чет|счета"),
        "связи": _words("связь|связей"),
        "платеж": _words("плотеж|платежи"),
        "курьер": _words("курьеру|курьера"),
        "нет": _words("не|нет нет"),
        "работает": _words("работаю|работа"),
        "доставка": _words("доставку|доставки"),
        "проценты": _words("процент|проценте"),
        "заявка": _words("заявки|за явка"),
        "заявкой": _words("заявка|заявку"),
        "кабинет": _words("кабинета|комбинат"),
        "расторгнуть": _words("расторгнут|растаргнуть"),
        "отключить": _words("отключит|включить"),
        "вклада": _words("склада|вкладка"),
        "кредит": _words("кредиты|крит"),
        "списали": _words("писали|списать|сказали"),
        "приставка": _words("приставки|пристав"),
        "мастер": _words("мастера|мастеру"),
        "счете": _words("счета|чете"),
        "абонентская": _words("абонентской|абонент"),
        "корзине": _words("корзина|корзину"),
        "промокод": _words("пром код|промо"),
        "сеть": _words("сесть|сет"),
        "доставят": _words("доставит|доставка"),
        "пин": _words("пинг|пил"),
        "лимит": _words("лимиты|милит"),
    },
    hesitation=_words("э|ээ|ну|вот|алло|мм"),
)

ENGLISH = Language(
    phrases=_ENGLISH_PHRASES,
    vague_chat=_words("hello|hi|i have a question|operator|help|anyone there"),
    vague_ivr=_words("hello|hello hello|operator|agent|a person please|yes|help"),
    greeting=_words("hello|hi|good morning|good afternoon"),
    preface=_words("please help|could you tell me|i have a question"),
    closing=_words("thanks|thank you|what should i do|please help"),
    email_greeting=_words("Hello,|Good afternoon,|Dear support,"),
    email_closing=_words("Regards.|Thank you.|Kind regards."),
    home=_words("at home|"),
    office=_words("at the office|"),
    fallback={
        "service": ("internet",),
        "product": _words("a card|a loan"),
        "tariff": ("plan",),
        "order": ("",),
        "amount": ("",),
    },
    misheard={"internet": ("inter net",), "order": ("border",), "card": ("cart",)},
    hesitation=_words("uh|um|hello|well"),
)

# Slot words by language: [Russian, English].
PRODUCT_WORDS = (
    {
        "card_credit": "кредитную карту",
        "card_debit": "дебетовую карту",
        "loan": "кредит",
        "deposit": "вклад",
        "insurance": "страховку",
    },
    {
        "card_credit": "a credit card",
        "card_debit": "a debit card",
        "loan": "a loan",
        "deposit": "a deposit",
        "insurance": "insurance",
    },
)
SERVICE_WORDS = (
    {"internet": "интернет", "mobile": "мобильная связь", "tv": "телевидение",
     "landline": "домашний телефон"},
    {"internet": "internet", "mobile": "mobile", "tv": "tv", "landline": "landline"},
)  # fmt: skip
TARIFF_WORDS = (
    {"home-100": "Домашний 100", "home-300": "Домашний 300", "home-500": "Домашний 500",
     "mobile-s": "Мобильный S", "mobile-m": "Мобильный M", "mobile-l": "Мобильный L",
     "combo-300": "Комбо 300", "combo-500": "Комбо 500", "biz-start": "Бизнес Старт",
     "biz-office": "Бизнес Офис", "biz-pro": "Бизнес Про"},
    {name: name.replace("-", " ").title() for name in catalog.TARIFF_NAMES},
)  # fmt: skip
