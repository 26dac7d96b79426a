// Shared by the desk and the console: the language, texts, DOM building, API calls.
// Texts are set with textContent only: nothing from the server is parsed as HTML.
"use strict";

const TEXTS = {
  ru: {
    "lang.switch": "English", "lang.code": "en",
    "desk.title": "Рабочее место оператора", "console.title": "Консоль менеджера",
    "login.title": "Вход", "login.key": "Ключ API", "login.operator": "Код оператора",
    "login.queues": "Очереди (через запятую)", "login.submit": "Войти", "logout": "Выйти",
    "login.as": "Вы вошли как", "login.queue": "очереди",
    "live.connecting": "Подключаемся…", "live.live": "На связи: карточки звонков появятся здесь",
    "live.lost": "Связь потеряна, переподключаемся…", "desk.empty": "Звонков пока нет.",
    "card.unknown": "Неизвестный клиент", "card.call": "Звонок", "card.segment": "Сегмент",
    "card.local_time": "Местное время", "card.reasons": "Вероятные причины",
    "card.churn": "Риск ухода", "card.incidents": "Аварии, которые касаются клиента",
    "card.next_steps": "Что сказать клиенту", "card.offers": "Действия и предложения",
    "card.consent": "Согласия", "card.marketing": "Маркетинговое предложение",
    "card.allowed": "можно", "card.not_allowed": "нельзя", "card.stopped": "Отписан от",
    "card.history": "Недавние обращения и сообщения", "card.last_contact": "Последнее обращение",
    "card.contacts_30d": "Обращений за 30 дней", "card.delivered_90d": "Доставлено сообщений за 90 дней",
    "card.reply_rate": "Доля ответов", "card.none": "нет", "card.days_ago": "дн. назад",
    "card.eta": "ожидаем к", "card.action": "действие", "card.priority": "приоритет",
    "card.why": "почему", "card.suitable": "подходит",
    "outcome.reason": "Настоящая причина", "outcome.resolved": "Вопрос решён",
    "outcome.offer": "Предложение", "outcome.accepted": "принято",
    "outcome.declined": "отклонено", "outcome.not_made": "не предлагалось",
    "outcome.submit": "Подтвердить", "outcome.saved": "Записано",
    "outcome.correct": "прогноз верен", "outcome.wrong": "прогноз ошибся",
    "yes": "да", "no": "нет", "band.low": "низкий", "band.medium": "средний", "band.high": "высокий",
    "nav.incidents": "Аварии", "nav.approvals": "Согласование", "nav.scenarios": "Сценарии",
    "nav.models": "Модели",
    "inc.title": "Аварии", "inc.none": "Открытых аварий нет.", "inc.incident": "Авария",
    "inc.affected": "Затронуто", "inc.notified": "Оповещено", "inc.suppressed": "Подавлено",
    "inc.failed": "Ошибки", "inc.pending": "В очереди", "inc.calls_before": "Звонков до оповещения",
    "inc.calls_after": "Звонков после оповещения", "inc.eta": "Срок",
    "appr.title": "Сообщения на согласовании", "appr.none": "Ничего не ждёт согласования.",
    "appr.approve": "Одобрить", "appr.reject": "Отклонить", "appr.edit": "Править",
    "appr.approve_selected": "Одобрить выбранные", "appr.reject_selected": "Отклонить выбранные",
    "appr.select": "Выбрать", "appr.reason": "Причина (для журнала)", "appr.done": "Готово",
    "appr.customer": "Клиент", "appr.scenario": "Сценарий", "appr.channel": "Канал",
    "appr.expires": "Истекает",
    "sc.title": "Эффективность сценариев", "sc.none": "Данных по сценариям пока нет.",
    "sc.scenario": "Сценарий", "sc.sent": "Отправлено", "sc.delivered": "Доставлено",
    "sc.read": "Прочитано", "sc.replied": "Ответили", "sc.converted": "Конверсия",
    "sc.unsubscribed": "Отписались", "sc.revenue": "Выручка", "sc.uplift": "Прирост к контрольной группе",
    "sc.funnel": "Воронка", "sc.history": "Конверсия во времени (снимки этой вкладки)",
    "mod.title": "Модели", "mod.name": "Модель", "mod.version": "Версия", "mod.trained": "Обучена",
    "mod.running": "Работает", "mod.test": "На тесте", "mod.live": "Точность на подтверждённых звонках",
    "mod.examples": "Примеров", "mod.accuracy": "Точность", "mod.actionable": "Уверенных прогнозов",
    "mod.daily": "Точность по дням", "mod.recall": "Полнота", "mod.reason": "Причина",
    "err.scope": "У ключа нет нужного права", "err.unavailable": "Раздел пока недоступен",
  },
  en: {
    "lang.switch": "Русский", "lang.code": "ru",
    "desk.title": "Operator desk", "console.title": "Manager console",
    "login.title": "Log in", "login.key": "API key", "login.operator": "Operator id",
    "login.queues": "Queues (comma-separated)", "login.submit": "Log in", "logout": "Log out",
    "login.as": "Logged in as", "login.queue": "queues",
    "live.connecting": "Connecting…", "live.live": "Live: call cards appear here",
    "live.lost": "Connection lost, reconnecting…", "desk.empty": "No calls yet.",
    "card.unknown": "Unknown customer", "card.call": "Call", "card.segment": "Segment",
    "card.local_time": "Local time", "card.reasons": "Likely reasons",
    "card.churn": "Churn risk", "card.incidents": "Incidents affecting the customer",
    "card.next_steps": "What to tell the customer", "card.offers": "Actions and offers",
    "card.consent": "Consents", "card.marketing": "Marketing offer",
    "card.allowed": "allowed", "card.not_allowed": "not allowed", "card.stopped": "Stopped",
    "card.history": "Recent contacts and messages", "card.last_contact": "Last contact",
    "card.contacts_30d": "Contacts in 30 days", "card.delivered_90d": "Messages delivered in 90 days",
    "card.reply_rate": "Reply rate", "card.none": "none", "card.days_ago": "days ago",
    "card.eta": "expected by", "card.action": "action", "card.priority": "priority",
    "card.why": "why", "card.suitable": "suitable",
    "outcome.reason": "Actual reason", "outcome.resolved": "Resolved",
    "outcome.offer": "Offer", "outcome.accepted": "accepted",
    "outcome.declined": "declined", "outcome.not_made": "not made",
    "outcome.submit": "Confirm", "outcome.saved": "Recorded",
    "outcome.correct": "prediction right", "outcome.wrong": "prediction wrong",
    "yes": "yes", "no": "no", "band.low": "low", "band.medium": "medium", "band.high": "high",
    "nav.incidents": "Incidents", "nav.approvals": "Approvals", "nav.scenarios": "Scenarios",
    "nav.models": "Models",
    "inc.title": "Incidents", "inc.none": "No open incidents.", "inc.incident": "Incident",
    "inc.affected": "Affected", "inc.notified": "Notified", "inc.suppressed": "Suppressed",
    "inc.failed": "Failed", "inc.pending": "Pending", "inc.calls_before": "Calls before notice",
    "inc.calls_after": "Calls after notice", "inc.eta": "ETA",
    "appr.title": "Messages awaiting approval", "appr.none": "Nothing awaits approval.",
    "appr.approve": "Approve", "appr.reject": "Reject", "appr.edit": "Edit",
    "appr.approve_selected": "Approve selected", "appr.reject_selected": "Reject selected",
    "appr.select": "Select", "appr.reason": "Reason (for the audit trail)", "appr.done": "Done",
    "appr.customer": "Customer", "appr.scenario": "Scenario", "appr.channel": "Channel",
    "appr.expires": "Expires",
    "sc.title": "Scenario performance", "sc.none": "No scenario data yet.",
    "sc.scenario": "Scenario", "sc.sent": "Sent", "sc.delivered": "Delivered",
    "sc.read": "Read", "sc.replied": "Replied", "sc.converted": "Converted",
    "sc.unsubscribed": "Unsubscribed", "sc.revenue": "Revenue", "sc.uplift": "Uplift over holdout",
    "sc.funnel": "Funnel", "sc.history": "Conversion over time (this tab's snapshots)",
    "mod.title": "Models", "mod.name": "Model", "mod.version": "Version", "mod.trained": "Trained",
    "mod.running": "Running", "mod.test": "In test", "mod.live": "Accuracy on confirmed calls",
    "mod.examples": "Examples", "mod.accuracy": "Accuracy", "mod.actionable": "Confident predictions",
    "mod.daily": "Accuracy by day", "mod.recall": "Recall", "mod.reason": "Reason",
    "err.scope": "This key lacks the scope", "err.unavailable": "Not available yet",
  },
};

const REASONS = {
  application_stuck: ["Заявка зависла", "Application stuck"],
  billing_question: ["Вопрос по счёту", "Billing question"],
  cancel_intent: ["Хочет расторгнуть", "Wants to cancel"],
  card_question: ["Вопрос по карте", "Card question"],
  cart_help: ["Помощь с корзиной", "Cart help"],
  deposit_question: ["Вопрос по вкладу", "Deposit question"],
  order_delayed: ["Заказ задерживается", "Order delayed"],
  other: ["Другое", "Other"],
  outage: ["Авария", "Outage"],
  payment_failed: ["Платёж не прошёл", "Payment failed"],
  technical_problem: ["Техническая проблема", "Technical problem"],
};

function currentLang() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked === "ru" || asked === "en") { localStorage.setItem("forecall.lang", asked); return asked; }
  return localStorage.getItem("forecall.lang") === "en" ? "en" : "ru";
}

let LANG = currentLang();

function t(key) { return (TEXTS[LANG] && TEXTS[LANG][key]) || TEXTS.ru[key] || key; }

function reasonLabel(code) {
  const pair = REASONS[code];
  return pair ? pair[LANG === "en" ? 1 : 0] : code;
}

function applyTexts(root = document) {
  document.documentElement.lang = LANG;
  for (const node of root.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
}

/** Language toggle: re-labels the page in place and calls `rerender` for dynamic parts. */
function setupLang(button, rerender) {
  const label = () => {
    button.textContent = t("lang.switch");
    button.setAttribute("lang", t("lang.code"));
  };
  label();
  applyTexts();
  button.addEventListener("click", () => {
    LANG = LANG === "ru" ? "en" : "ru";
    localStorage.setItem("forecall.lang", LANG);
    const url = new URL(location.href);
    url.searchParams.set("lang", LANG);
    history.replaceState(null, "", url);
    label();
    applyTexts();
    rerender();
  });
}

/** el("p", {class: "x"}, "text", child...) */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function pct(x) { return x === null || x === undefined ? "—" : `${Math.round(x * 100)}%`; }

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** Same-origin JSON call; changing requests carry X-Forecall: 1 (the server's CSRF check). */
async function api(method, url, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-Forecall"] = "1";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Wires a login form to POST {base}/session; `done(who)` when it succeeds. */
function setupLogin(form, base, done, fields) {
  const error = form.querySelector(".error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const body = fields();
    try {
      const who = await api("POST", `${base}/session`, body);
      form.reset();
      done(who);
    } catch (exc) {
      error.textContent = exc.message;
      const field = exc.body && exc.body.field && form.querySelector(`[name="${exc.body.field}"]`);
      (field || form.querySelector("input")).focus();
    }
  });
}
