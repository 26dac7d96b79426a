// Readable names for the codes the API speaks: [Russian, English] per code. A code with no
// entry here is shown as the API gave it (a configured action or scenario of your own).
"use strict";

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

// predictors/builtin/actions.yaml
const ACTIONS = {
  announce_outage: ["Сообщить об аварии и сроке восстановления", "Announce the outage and its ETA"],
  confirm_order_delayed: ["Уточнить, что звонок о задержке заказа", "Confirm the call is about the delayed order"],
  confirm_reason: ["Уточнить предсказанную причину звонка", "Confirm the predicted reason"],
  support_payment_trouble: ["Помочь с неудавшимся платежом", "Help with a failed payment"],
  route_cancel_intent: ["Соединить со специалистом по договорам", "Route to the contracts team"],
  retention_offer: ["Предложение для удержания клиента", "A retention offer"],
  priority_high_churn: ["Приоритет: высокий риск ухода", "Priority: high churn risk"],
  priority_high_value: ["Приоритет: ценный клиент", "Priority: high-value customer"],
  route_b2b: ["Соединить с менеджером для бизнеса", "Route to the business desk"],
  application_help: ["Помочь с заявкой", "Help with an application"],
  technical_support: ["Техническая поддержка", "Technical support"],
  self_service_billing: ["Самообслуживание: счёт и баланс", "Self-service: billing"],
  self_service_deposit: ["Самообслуживание: вклад", "Self-service: deposit"],
  cart_help: ["Помочь оформить корзину", "Help with the cart"],
  route_general: ["Общая очередь", "General queue"],
};

// predictors/builtin/scenarios.yaml
const SCENARIOS = {
  abandoned_cart: ["Брошенная корзина", "Abandoned cart"],
  unfinished_application: ["Незавершённая заявка", "Unfinished application"],
  post_purchase_nps: ["Оценка после покупки", "Rating after a purchase"],
  upsell_after_delivery: ["Дополнительное предложение после доставки", "Offer after delivery"],
  order_status: ["Статус заказа изменился", "Order status changed"],
  next_steps_after_contact: ["Памятка после обращения", "Steps promised after a contact"],
  deposit_maturing: ["Вклад подходит к концу", "Deposit maturing"],
  inactivity: ["Давно не заходили", "We miss you"],
  birthday: ["С днём рождения", "Birthday greetings"],
};

// Model card metrics: the name, and what it says in a line.
const METRICS = {
  accuracy: [["доля верных ответов", "share of right answers"],
    ["сколько прогнозов совпало с настоящей причиной", "how many predictions matched the real reason"]],
  top3_accuracy: [["верный ответ среди трёх первых", "right answer in the top three"],
    ["настоящая причина была среди трёх самых вероятных", "the real reason was among the three likeliest"]],
  macro_f1: [["F1, среднее по причинам", "F1, averaged over reasons"],
    ["баланс точности и полноты, каждая причина с равным весом", "precision and recall balanced, each reason weighted equally"]],
  roc_auc: [["площадь под ROC-кривой", "area under the ROC curve"],
    ["как часто уходящий клиент получает риск выше остающегося: 0,5 — наугад, 1 — идеально",
      "how often a leaving customer scores above a staying one: 0.5 is chance, 1 is perfect"]],
  pr_auc: [["площадь под кривой точность–полнота", "area under the precision–recall curve"],
    ["насколько хорошо модель находит редких уходящих клиентов; чем больше, тем лучше",
      "how well the model finds the rare leaving customers; higher is better"]],
  brier: [["ошибка Брайера", "Brier score"],
    ["средний квадрат разницы между предсказанной вероятностью и исходом: чем меньше, тем лучше",
      "mean squared gap between the predicted probability and the outcome: lower is better"]],
};

const MODELS = {
  churn: ["Риск ухода", "Churn risk"],
  reasons: ["Причина звонка по профилю", "Call reason from the profile"],
  reasons_text: ["Причина звонка по словам клиента", "Call reason from what the caller says"],
};

const MODEL_TYPES = {
  gradient_boosting: ["градиентный бустинг", "gradient boosting"],
  logistic_regression: ["логистическая регрессия", "logistic regression"],
  tfidf_linear_svm: ["линейный классификатор по словам", "linear classifier over words"],
};

// Why a customer affected by an incident was not notified (the API's reason codes).
const SUPPRESSION = {
  no_channel: ["нет подходящего канала", "no usable channel"],
  channel_not_configured: ["нет настроенного канала", "no channel configured"],
  no_address: ["нет адреса для канала", "no address for the channel"],
  stop_list: ["клиент отписался", "the customer unsubscribed"],
  consent_withdrawn: ["согласие отозвано", "consent withdrawn"],
  no_marketing_consent: ["нет согласия на рекламу", "no marketing consent"],
  unknown_customer: ["клиент удалён", "customer erased"],
  quiet_hours: ["тихие часы", "quiet hours"],
  cap: ["исчерпан лимит сообщений", "message cap reached"],
  dedupe: ["уже сообщили", "already told"],
  at_send: ["остановлено при отправке", "stopped at send time"],
  policy: ["правила контактов", "contact policy"],
  suppressed: ["правила контактов", "contact policy"],
};

const SEGMENTS = { b2c: ["частный клиент", "consumer"], b2b: ["бизнес", "business"] };

const CHANNELS = {
  sms: ["SMS", "SMS"], telegram: ["Telegram", "Telegram"], email: ["эл. почта", "email"],
  whatsapp: ["WhatsApp", "WhatsApp"], viber: ["Viber", "Viber"], push: ["пуш", "push"],
  voice: ["звонок", "voice call"], webhook: ["вебхук", "webhook"], vk: ["VK", "VK"],
  ivr: ["голосовое меню", "IVR"], chat: ["чат", "chat"],
};

// API key scopes (a key lacking one is refused).
const SCOPES = {
  desk: ["рабочее место оператора", "operator desk"], manager: ["консоль менеджера", "manager console"],
  incidents: ["аварии", "incidents"], ingest: ["загрузка данных", "data ingest"],
  ivr: ["голосовое меню", "IVR"], admin: ["администрирование", "administration"],
};

// The fields a page sends, for error messages that name them.
const FIELDS = {
  key: ["Ключ API", "API key"], operator_id: ["Код оператора", "Operator id"],
  queues: ["Очереди", "Queues"], reason: ["Причина", "Reason"], text: ["Текст", "Text"],
  actual_reason: ["Настоящая причина", "Actual reason"],
};

/** The label of `code` in `map` in the page's language, or the code itself. */
function label(map, code) {
  const pair = map[code];
  return pair ? pair[LANG === "en" ? 1 : 0] : code;
}

function reasonLabel(code) { return label(REASONS, code); }

function metricName(code) { return METRICS[code] ? METRICS[code][0][LANG === "en" ? 1 : 0] : code; }

function metricHelp(code) { return METRICS[code] ? METRICS[code][1][LANG === "en" ? 1 : 0] : ""; }

const CYRILLIC = /[а-яё]/i;

/** A title from the API ({ru, en}, or a string with its English beside it) in the page's
 * language; a title in the other language gives way to the built-in label of the code. */
function titled(code, title, map, titleEn) {
  if (LANG === "en" && titleEn) return titleEn;
  if (title && typeof title === "object") return title[LANG] || title.ru || label(map, code);
  if (typeof title === "string" && title) {
    if (LANG === "ru" && !CYRILLIC.test(title) && map[code]) return label(map, code);
    if (LANG === "en" && CYRILLIC.test(title) && map[code]) return label(map, code);
    return title;
  }
  return label(map, code);
}
