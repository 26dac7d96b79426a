// The operator desk: log in, listen for cards, show each call, send back its outcome.
"use strict";

const BASE = "/desk/api";
const cards = new Map(); // call id -> card, newest last
const outcomes = new Map(); // call id -> recorded outcome
let source = null;

const $ = (id) => document.getElementById(id);

function showLogin() {
  if (source) { source.close(); source = null; }
  $("desk").hidden = true;
  $("logout").hidden = true;
  $("who").textContent = "";
  $("login").hidden = false;
  $("key").focus();
}

function showDesk(who) {
  $("login").hidden = true;
  $("desk").hidden = false;
  $("logout").hidden = false;
  serverZone(who.time_zone);
  refillZones();
  $("who").dataset.operator = who.operator_id || "";
  $("who").dataset.queues = who.queues.join(",");
  describeWho();
  listen();
}

function describeWho() {
  const who = $("who").dataset;
  const queues = who.queues ? who.queues.split(",") : [];
  const parts = [who.operator, queues.length ? `${t("login.queue")}: ${queues.join(", ")}` : null];
  $("who").textContent = `${t("login.as")} ${parts.filter(Boolean).join(", ")}`;
}

function setStatus(state) {
  const status = $("status");
  status.dataset.state = state;
  status.dataset.t = `live.${state}`;
  status.textContent = t(`live.${state}`);
}

function listen() {
  if (source) source.close();
  setStatus("connecting");
  source = new EventSource(`${BASE}/events`);
  source.addEventListener("hello", () => setStatus("live"));
  source.addEventListener("card", (event) => {
    const card = JSON.parse(event.data);
    cards.delete(card.call_id); // the same call again (route after context): show it once
    cards.set(card.call_id, card);
    upsert(card, true);
  });
  source.addEventListener("error", async () => {
    setStatus("lost");
    try { await api("GET", `${BASE}/session`); } catch (exc) {
      if (exc.status === 401 || exc.status === 403) showLogin();
    }
  });
}

function renderAll() {
  const root = $("cards");
  const focused = document.activeElement && document.activeElement.id;
  root.replaceChildren(...[...cards.values()].reverse().map(renderCard));
  $("empty").hidden = cards.size > 0;
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
}

/** Draws one card, leaving the others (and what the operator typed there) alone. */
function upsert(card, onTop) {
  const root = $("cards");
  const fresh = renderCard(card);
  const old = root.querySelector(`[data-call-id="${CSS.escape(card.call_id)}"]`);
  if (old && !onTop) old.replaceWith(fresh);
  else { if (old) old.remove(); root.prepend(fresh); }
  $("empty").hidden = cards.size > 0;
  return fresh;
}

function section(titleKey, ...body) {
  return el("section", {}, el("h3", {}, t(titleKey)), ...body);
}

function renderCard(card) {
  const c = card.customer || {};
  const id = card.call_id;
  const name = c.display_name || c.name || c.first_name || (c.known ? t("card.customer") : t("card.unknown"));
  const churn = card.churn;
  return el("article", { class: "card", "aria-labelledby": `h-${id}`, dataset: { callId: id } },
    el("h2", { id: `h-${id}` }, name,
      // Of a stranger we know neither: the defaults are no facts to show.
      c.known && c.segment ? el("span", { class: "badge" }, `${t("card.segment")}: ${label(SEGMENTS, c.segment)}`) : null,
      c.known && c.local_time ? el("span", { class: "badge" }, `${t("card.local_time")} ${c.local_time}`) : null),
    el("p", { class: "muted" }, `${t("card.call")} ${id}`, c.known && c.id ? ` · ID ${c.id}` : "",
      card.utterance ? ` — «${card.utterance}»` : ""),
    el("div", { class: "grid" },
      section("card.reasons", el("ul", { class: "plain reasons" }, (card.reasons || []).map((r) =>
        el("li", { dataset: { reason: r.reason } },
          el("span", { class: "meter", "aria-hidden": "true" },
            el("span", { style: `width:${Math.round(r.confidence * 100)}%` })),
          `${reasonLabel(r.reason)} — ${pct(r.confidence)}`)))),
      churn ? section("card.churn",
        el("p", {}, el("span", { class: `band-${churn.band}` }, `${t(`band.${churn.band}`)} (${pct(churn.score)})`)),
        el("ul", { class: "churn-reasons" }, (churn.reasons || []).map((r) =>
          el("li", {}, typeof r === "string" ? r : r.text || r.code)))) : null,
      card.incidents && card.incidents.length ? section("card.incidents",
        el("ul", { class: "incidents" }, card.incidents.map((i) => renderIncident(i, c)))) : null,
      section("card.next_steps", el("ol", { class: "next-steps" }, (card.next_steps || []).map((s) => el("li", {}, s)))),
      renderConsent(card),
      renderHistory(card)),
    renderActions(card),
    renderOutcome(card));
}

/** One ETA per incident: in the customer's zone (the one the script reads out), named. */
function renderIncident(incident, customer) {
  const zone = customer.time_zone || ZONE;
  const whose = customer.time_zone ? `${t("card.customer_time")}, ${zoneLabel(zone)}` : zoneLabel(zone);
  return el("li", { dataset: { incident: incident.id } }, incident.title,
    incident.eta ? el("span", { class: "eta" },
      ` — ${t("card.eta")} ${when(incident.eta, zone, { label: false })} (${whose})`) : null);
}

function renderConsent(card) {
  const consent = card.consent || {};
  const byChannel = Object.entries(consent.marketing_by_channel || {});
  return section("card.consent",
    el("p", { class: "offer-allowed" }, `${t("card.marketing")}: `,
      el("span", { class: consent.offer_allowed ? "yes" : "no" },
        consent.offer_allowed ? t("card.allowed") : t("card.not_allowed"))),
    byChannel.length ? el("ul", { class: "plain" }, byChannel.map(([ch, ok]) =>
      el("li", {}, `${label(CHANNELS, ch)}: `, el("span", { class: ok ? "yes" : "no" }, ok ? t("yes") : t("no"))))) : null,
    consent.stopped && consent.stopped.length
      ? el("p", {}, `${t("card.stopped")}: ${consent.stopped.map((ch) => label(CHANNELS, ch)).join(", ")}`) : null);
}

function renderHistory(card) {
  const h = card.history || {};
  const last = h.last_contact;
  const engagement = h.engagement || {};
  return section("card.history", el("ul", { class: "plain" },
    el("li", {}, `${t("card.last_contact")}: `, last
      ? `${reasonLabel(last.reason)}, ${Math.round(last.days_since)} ${t("card.days_ago")}`
      : t("card.none")),
    el("li", {}, `${t("card.contacts_30d")}: ${h.contacts_30d ?? 0}`),
    el("li", {}, `${t("card.delivered_90d")}: ${engagement.delivered_90d ?? 0}`),
    engagement.reply_rate_90d != null ? el("li", {}, `${t("card.reply_rate")}: ${pct(engagement.reply_rate_90d)}`) : null));
}

/** Why an action is offered, for a person: the API's reason when it gives one beside
 * its trace; else a short reason from the verdict itself. */
function humanWhy(a) {
  if (a.trace !== undefined && a.why) return Array.isArray(a.why) ? a.why.join("; ") : String(a.why);
  if (a.suitable) return LANG === "en" ? "its conditions hold for this call" : "условия действия выполнены для этого звонка";
  const trace = String(a.why || "");
  if (/consent/.test(trace)) return LANG === "en" ? "no marketing consent" : "нет согласия на рекламу";
  if (/incident/.test(trace)) return LANG === "en" ? "no offers during an outage" : "во время аварии предложения не делаются";
  return LANG === "en" ? "ruled out by the contact rules" : "не подходит по правилам";
}

function traceOf(a) {
  const raw = a.trace !== undefined ? a.trace : a.why;
  return Array.isArray(raw) ? raw.join("; ") : String(raw ?? "");
}

function renderActions(card) {
  const ranked = (card.ranked || []).filter((a) => a.eligible);
  if (!ranked.length) return null;
  const id = card.call_id;
  // The rule engine's own words, for those who ask: hidden until the toggle is pressed,
  // flipped in place so that what the operator chose in the outcome form stays.
  const trace = el("div", { id: `trace-${id}`, class: "trace", lang: "en", hidden: true },
    el("h4", {}, t("card.trace_title")),
    el("ul", {}, ranked.map((a) => el("li", {}, el("code", {}, `${a.id}: ${traceOf(a)}`)))));
  const toggle = el("button", { type: "button", class: "secondary trace-toggle", "aria-expanded": "false",
    "aria-controls": trace.id, onclick: () => {
      trace.hidden = !trace.hidden;
      toggle.setAttribute("aria-expanded", String(!trace.hidden));
      toggle.textContent = t(trace.hidden ? "card.trace" : "card.trace_hide");
    } }, t("card.trace"));
  return section("card.offers", el("div", { class: "scroll" }, el("table", { class: "actions-table" },
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, t("card.action")), el("th", { scope: "col", class: "num" }, t("card.priority")),
      el("th", { scope: "col" }, t("card.suitable")), el("th", { scope: "col" }, t("card.why")))),
    el("tbody", {}, ranked.map((a) => el("tr", { dataset: { action: a.id } },
      el("td", {}, titled(a.id, a.title, ACTIONS)), el("td", { class: "num" }, num(a.priority, 2)),
      el("td", { class: a.suitable ? "yes" : "no" }, a.suitable ? t("yes") : t("no")),
      el("td", { class: "why" }, humanWhy(a))))))),
  toggle, trace);
}

function renderOutcome(card) {
  const id = card.call_id;
  const done = outcomes.get(id);
  if (done) {
    return el("p", { class: "ok outcome-result", role: "status" },
      `${t("outcome.saved")}: ${reasonLabel(done.actual)} — ${done.correct ? t("outcome.correct") : t("outcome.wrong")}`);
  }
  const top = card.reasons && card.reasons.length ? card.reasons[0].reason : "other";
  const offers = (card.operator && card.operator.offers) || [];
  const select = el("select", { id: `reason-${id}`, name: "actual_reason" },
    Object.keys(REASONS).map((code) => el("option", { value: code, selected: code === top }, reasonLabel(code))));
  const resolved = el("input", { type: "checkbox", id: `resolved-${id}`, name: "resolved", checked: true });
  const error = el("p", { class: "error", role: "alert" });
  let offerSet = null;
  if (offers.length) {
    const radio = (value, key) => el("label", {},
      el("input", { type: "radio", name: `offer-${id}`, value, checked: value === "none" }), ` ${t(key)}`);
    offerSet = el("fieldset", {}, el("legend", {}, `${t("outcome.offer")}: ${offers[0].text}`),
      radio("accepted", "outcome.accepted"), " ", radio("declined", "outcome.declined"), " ",
      radio("none", "outcome.not_made"));
  }
  const form = el("form", { class: "outcome", "aria-label": t("outcome.submit") },
    el("div", {}, el("label", { for: `reason-${id}` }, t("outcome.reason")), el("br"), select),
    el("div", {}, resolved, el("label", { for: `resolved-${id}` }, ` ${t("outcome.resolved")}`)),
    offerSet,
    el("button", { type: "submit", id: `confirm-${id}` }, t("outcome.submit")),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { actual_reason: select.value, resolved: resolved.checked };
    if (offerSet) {
      const choice = form.querySelector(`input[name="offer-${id}"]:checked`).value;
      if (choice !== "none") {
        body.offer_accepted = choice === "accepted";
        body.offer_id = offers[0].action_id;
      }
    }
    try {
      outcomes.set(id, await api("POST", `${BASE}/cards/${encodeURIComponent(id)}/outcome`, body));
      const result = upsert(card, false).querySelector(".outcome-result");
      result.tabIndex = -1;
      result.focus();
    } catch (exc) {
      error.textContent = problemText(exc);
    }
  });
  return form;
}

let refillZones = () => null;

async function start() {
  const redraw = () => { if (!$("desk").hidden) { describeWho(); setStatus($("status").dataset.state); renderAll(); } };
  setupLang($("lang"), () => { refillZones(); redraw(); });
  refillZones = setupZone($("zone"), redraw);
  $("logout").addEventListener("click", async () => {
    await api("DELETE", `${BASE}/session`).catch(() => null);
    cards.clear();
    showLogin();
  });
  setupLogin($("login"), BASE, showDesk, () => ({
    key: $("key").value,
    operator_id: $("operator").value.trim() || null,
    queues: $("queues").value.split(",").map((q) => q.trim()).filter(Boolean),
  }));
  try { showDesk(await api("GET", `${BASE}/session`)); } catch { showLogin(); }
}

start();
