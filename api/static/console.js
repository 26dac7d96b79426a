// The manager console: incidents with live counts, approvals, scenarios, models, and the
// demo's sandbox inbox.
"use strict";

const BASE = "/console/api";
const V1 = `${BASE}/v1`;
const POLL_MS = 3000;
const $ = (id) => document.getElementById(id);
const data = { incidents: null, approvals: null, scenarios: null, models: null, sandbox: null };
const errors = {};
const selected = new Set(); // approval ids ticked for a bulk decision
const edits = new Map(); // approval id -> edited text
const editing = new Set(); // approval ids whose editor is open
const snapshots = []; // scenario report snapshots taken by this tab: [time, {scenario: rate}]
let timer = null;

function body(panel) { return $(panel).querySelector(".body"); }

function problem(exc) {
  if (exc.status === 404 || exc.status === 405) return t("err.unavailable");
  return problemText(exc);
}

async function load(name, url) {
  try {
    data[name] = await api("GET", url);
    delete errors[name];
  } catch (exc) {
    if (exc.status === 401) { showLogin(); throw exc; }
    errors[name] = problem(exc);
  }
}

async function refresh() {
  const incidents = await api("GET", `${V1}/incidents`).catch((exc) => exc);
  if (incidents instanceof Error) {
    if (incidents.status === 401) return showLogin();
    errors.incidents = problem(incidents);
  } else {
    // The list has no counts; each incident's own view has them, live.
    data.incidents = await Promise.all(
      incidents.map((i) => api("GET", `${V1}/incidents/${encodeURIComponent(i.id)}`).catch(() => i)));
    delete errors.incidents;
  }
  await Promise.all([
    load("approvals", `${V1}/approvals?status=pending`),
    load("scenarios", `${V1}/scenarios/report`),
    load("models", `${BASE}/models`),
    load("sandbox", `${BASE}/sandbox`),
  ]).catch(() => null);
  if (Array.isArray(data.scenarios)) {
    snapshots.push([clock(),
      Object.fromEntries(data.scenarios.map((s) => [s.scenario, s.sent ? s.converted / s.sent : null]))]);
    if (snapshots.length > 60) snapshots.shift();
  }
  renderAll();
}

function renderAll() {
  renderIncidents();
  // Never redraw the queue under the manager's hands: an open editor or focus stays put.
  if (!$("approvals").contains(document.activeElement) || document.activeElement === document.body) {
    renderApprovals();
  }
  renderScenarios();
  renderModels();
  renderSandbox();
}

/** replaceChildren, leaving out the parts that are not there (null). */
function replace(node, ...parts) { node.replaceChildren(...parts.filter((p) => p !== null && p !== undefined)); }

function failed(panel) {
  if (panel === "approvals") $("approvals").querySelector(".bulk").hidden = Boolean(errors[panel]);
  if (!errors[panel]) return false;
  body(panel).replaceChildren(el("p", { class: "error" }, errors[panel]));
  return true;
}

function table(headers, rows, attrs = {}) {
  return el("table", attrs,
    el("thead", {}, el("tr", {}, headers.map(([key, num]) => el("th", { scope: "col", class: num ? "num" : null }, t(key))))),
    el("tbody", {}, rows));
}

/** Why customers went un-notified, by reason: the API's breakdown when it gives one,
 * else what it counts separately (excluded at fan-out, suppressed by the policy). */
function suppressedBy(counts) {
  const given = counts.suppressed_by_reason || counts.suppressed_reasons || counts.suppressed_by;
  if (given && typeof given === "object") return Object.entries(given);
  const found = Object.entries(counts.excluded || {});
  const byPolicy = (counts.by_status || {}).suppressed;
  if (byPolicy) found.push(["policy", byPolicy]);
  return found;
}

/** The API's words for a reason when it gives them, else the built-in label. */
function suppressionTitle(counts, reason) {
  const given = (counts.suppression_titles || {})[reason];
  return (given && given[LANG]) || label(SUPPRESSION, reason);
}

function renderIncidents() {
  if (failed("incidents") || !data.incidents) return;
  if (!data.incidents.length) { body("incidents").replaceChildren(el("p", { class: "muted" }, t("inc.none"))); return; }
  const cols = ["affected", "notified", "pending", "suppressed", "failed", "calls_before_notice", "calls_after_notice"];
  const cell = (i, c) => {
    const value = i.counts ? i.counts[c] : "—";
    const why = c === "suppressed" && i.counts && value ? suppressedBy(i.counts).filter(([, n]) => n) : [];
    return el("td", { class: "num", dataset: { count: c } }, String(value ?? "—"),
      why.length ? el("ul", { class: "plain why-suppressed", "aria-label": t("inc.why_suppressed") },
        why.map(([reason, n]) => el("li", { dataset: { reason } }, `${suppressionTitle(i.counts, reason)}: ${n}`))) : null);
  };
  body("incidents").replaceChildren(el("div", { class: "scroll" }, table(
    [["inc.incident"], ["inc.eta"], ["inc.affected", 1], ["inc.notified", 1], ["inc.pending", 1],
      ["inc.suppressed", 1], ["inc.failed", 1], ["inc.calls_before", 1], ["inc.calls_after", 1]],
    data.incidents.map((i) => el("tr", { dataset: { incident: i.id } },
      el("th", { scope: "row" }, i.title, el("br"), el("span", { class: "muted small" }, `ID ${i.id}`)),
      el("td", { class: "eta" }, i.eta ? when(i.eta) : "—"),
      cols.map((c) => cell(i, c)))))));
}

async function decide(ids, decision) {
  const status = $("approvals-status");
  const payload = { ids, decision, reason: $("decision-reason").value || null };
  if (decision === "approve") {
    const changed = ids.filter((id) => edits.has(id));
    if (changed.length) payload.edits = Object.fromEntries(changed.map((id) => [id, { text: edits.get(id) }]));
  }
  try {
    await api("POST", `${V1}/approvals/decide`, payload);
    for (const id of ids) { selected.delete(id); edits.delete(id); editing.delete(id); }
    status.textContent = `${t("appr.done")}: ${ids.length}`;
    status.className = "status ok";
  } catch (exc) {
    status.textContent = problem(exc);
    status.className = "status error";
  }
  document.activeElement.blur();
  await refresh();
  $("approvals-h").focus?.();
}

function renderApprovals() {
  if (failed("approvals") || !data.approvals) return;
  const pending = data.approvals;
  $("approvals").querySelector(".bulk").hidden = !pending.length;
  if (!pending.length) { body("approvals").replaceChildren(el("p", { class: "muted" }, t("appr.none"))); return; }
  body("approvals").replaceChildren(...pending.map((m) => {
    const box = el("input", { type: "checkbox", id: `sel-${m.id}`, checked: selected.has(m.id),
      onchange: (e) => (e.target.checked ? selected.add(m.id) : selected.delete(m.id)) });
    const editor = editing.has(m.id) ? el("textarea", { id: `text-${m.id}`, "aria-label": t("appr.edit"),
      oninput: (e) => edits.set(m.id, e.target.value) }, edits.get(m.id) ?? m.text) : null;
    return el("article", { class: "card approval", dataset: { approval: m.id } },
      el("div", { class: "actions" }, box, el("label", { for: `sel-${m.id}` }, t("appr.select"))),
      el("p", { class: "muted" },
        `${t("appr.scenario")}: ${titled(m.scenario, m.scenario_title, SCENARIOS, m.scenario_title_en)} · `
        + `${t("appr.channel")}: ${label(CHANNELS, m.channel)} · `
        + `${t("appr.customer")}: ${m.customer_name || `ID ${m.customer_id}`}`,
        m.expires_at ? ` · ${t("appr.expires")}: ${when(m.expires_at)}` : ""),
      m.subject ? el("p", {}, el("strong", {}, m.subject)) : null,
      editor || el("p", { class: "preview" }, edits.get(m.id) ?? m.text),
      el("div", { class: "actions" },
        el("button", { type: "button", class: "secondary", "aria-pressed": editing.has(m.id) ? "true" : "false",
          onclick: () => { editing.has(m.id) ? editing.delete(m.id) : editing.add(m.id); renderApprovals();
            const area = $(`text-${m.id}`); if (area) area.focus(); } }, t("appr.edit")),
        el("button", { type: "button", onclick: () => decide([m.id], "approve") }, t("appr.approve")),
        el("button", { type: "button", class: "danger", onclick: () => decide([m.id], "reject") }, t("appr.reject"))));
  }));
}

function renderScenarios() {
  if (failed("scenarios") || !data.scenarios) return;
  if (!data.scenarios.length) { body("scenarios").replaceChildren(el("p", { class: "muted" }, t("sc.none"))); return; }
  const cols = ["sent", "delivered", "read", "replied", "converted", "unsubscribed", "revenue"];
  const name = (s) => titled(s.scenario, s.title, SCENARIOS, s.title_en);
  const uplift = (u) => (u && u.value !== null ? `${pct(u.value)} [${pct(u.low)}; ${pct(u.high)}]` : "—");
  const rows = data.scenarios.map((s) => el("tr", { dataset: { scenario: s.scenario } },
    el("th", { scope: "row" }, name(s)),
    cols.map((c) => el("td", { class: "num" }, (s[c] ?? 0).toLocaleString(LANG === "en" ? "en-GB" : "ru-RU"))),
    el("td", { class: "num nowrap" }, uplift(s.uplift))));
  const charts = data.scenarios.map((s) => el("div", { class: "chart-box", dataset: { scenario: s.scenario } },
    el("h3", {}, name(s)),
    s.sent ? barChart(`${t("sc.funnel")}: ${name(s)}`, cols.slice(0, 5).map((c) => [t(`sc.${c}`), s[c]])) : el("p", { class: "muted" }, t("sc.no_data")),
    s.uplift && s.uplift.value !== null ? el("p", {}, t("sc.uplift")) : null,
    s.uplift && s.uplift.value !== null ? intervalChart(`${t("sc.uplift")}: ${name(s)}`, s.uplift.value, s.uplift.low, s.uplift.high) : null,
    snapshots.length > 1 && s.sent ? el("p", {}, t("sc.history")) : null,
    snapshots.length > 1 && s.sent ? lineChart(`${t("sc.history")}: ${name(s)}`, snapshots.map(([time, rates]) => [time, rates[s.scenario] ?? null])) : null));
  replace(body("scenarios"),
    el("div", { class: "scroll" }, table([["sc.scenario"], ...cols.map((c) => [`sc.${c}`, 1]), ["sc.uplift_short", 1]], rows,
      { class: "scenarios-table" })),
    el("div", { class: "grid" }, charts));
}

function renderModels() {
  if (failed("models") || !data.models) return;
  const { cards, live } = data.models;
  const used = new Set();
  const metric = (side) => el("ul", { class: "plain" }, Object.entries(side || {}).map(([k, v]) => {
    used.add(k);
    return el("li", { dataset: { metric: k }, title: metricHelp(k) || null }, `${metricName(k)}: ${num(v)}`);
  }));
  const running = (c) => (c.running === "fallback" ? t("mod.fallback")
    : c.running === "not loaded" ? t("mod.not_loaded") : c.running === c.version ? t("mod.this_version") : c.running);
  const rows = cards.map((c) => el("tr", { dataset: { model: c.name } },
    el("th", { scope: "row" }, label(MODELS, c.name), el("br"),
      el("span", { class: "muted small" }, label(MODEL_TYPES, c.model_type))),
    el("td", { class: "version" }, c.version), el("td", {}, when(c.trained_at)), el("td", { class: c.running === c.version ? null : "version" }, running(c)),
    el("td", {}, metric(c.test.model))));
  const glossary = [...used].filter((k) => METRICS[k]).map((k) =>
    el("li", {}, el("strong", {}, metricName(k)), ` — ${metricHelp(k)}`));
  replace(body("models"),
    el("div", { class: "scroll" }, table([["mod.name"], ["mod.version"], ["mod.trained"], ["mod.running"], ["mod.test"]], rows)),
    glossary.length ? el("details", { class: "glossary" }, el("summary", {}, t("mod.glossary")), el("ul", {}, glossary)) : null,
    el("h3", {}, t("mod.live")),
    el("p", { id: "live-accuracy", dataset: { examples: live.examples } },
      `${t("mod.examples")}: ${live.examples} · ${t("mod.accuracy")}: ${pct(live.accuracy)} · `
      + `${t("mod.actionable")}: ${live.actionable.examples} (${pct(live.actionable.accuracy)})`),
    lineChart(t("mod.daily"), live.daily.map((d) => [day(d.day), d.accuracy])),
    Object.keys(live.by_reason).length ? table([["mod.reason"], ["mod.examples", 1], ["mod.recall", 1]],
      Object.entries(live.by_reason).map(([reason, r]) => el("tr", {},
        el("th", { scope: "row" }, reasonLabel(reason)), el("td", { class: "num" }, r.examples),
        el("td", { class: "num" }, pct(r.recall))))) : null);
}

/** The demo's sandbox channel: what it "sent", newest first; hidden when not configured. */
function renderSandbox() {
  const configured = !errors.sandbox && Array.isArray(data.sandbox);
  $("sandbox").hidden = !configured;
  $("nav-sandbox").hidden = !configured;
  if (!configured) return;
  if (!data.sandbox.length) { replace(body("sandbox"), el("p", { class: "muted" }, t("sb.none"))); return; }
  replace(body("sandbox"),
    el("p", { class: "muted" }, t("sb.note")),
    el("div", { class: "scroll" }, table([["sb.time"], ["sb.channel"], ["sb.customer"], ["sb.address"], ["sb.text"]],
      data.sandbox.map((m) => el("tr", { dataset: { message: m.id } },
        el("td", { class: "nowrap" }, when(m.at)), el("td", {}, label(CHANNELS, m.channel)),
        el("td", {}, m.customer_name || `ID ${m.customer_id}`), el("td", { class: "nowrap" }, m.address),
        el("td", { class: "preview" }, m.text))))));
}

function showLogin() {
  clearInterval(timer);
  $("console").hidden = true; $("nav").hidden = true; $("logout").hidden = true;
  $("who").textContent = "";
  $("login").hidden = false;
  $("key").focus();
}

/** «администратор (ключ из настроек)» for the bootstrap key, else the key's name. */
function describeWho() {
  const key = $("who").dataset.key;
  $("who").textContent = `${t("login.as")} ${key || t("login.admin")}`;
}

function showConsole(who) {
  $("login").hidden = true;
  $("console").hidden = false; $("nav").hidden = false; $("logout").hidden = false;
  serverZone(who.time_zone);
  refillZones();
  $("who").dataset.key = who.key_id === "bootstrap" ? "" : who.key_name;
  describeWho();
  refresh();
  clearInterval(timer);
  timer = setInterval(refresh, POLL_MS);
}

let refillZones = () => null;

function start() {
  for (const id of ["incidents-h", "approvals-h", "scenarios-h", "models-h", "sandbox-h"]) $(id).tabIndex = -1;
  const redraw = () => { if (!$("console").hidden) { describeWho(); renderAll(); } };
  setupLang($("lang"), () => { refillZones(); redraw(); });
  refillZones = setupZone($("zone"), redraw);
  $("logout").addEventListener("click", async () => {
    await api("DELETE", `${BASE}/session`).catch(() => null);
    showLogin();
  });
  $("approve-selected").addEventListener("click", () => selected.size && decide([...selected], "approve"));
  $("reject-selected").addEventListener("click", () => selected.size && decide([...selected], "reject"));
  setupLogin($("login"), BASE, showConsole, () => ({ key: $("key").value }));
  api("GET", `${BASE}/session`).then(showConsole, showLogin);
}

start();
