// The manager console: incidents with live counts, approvals, scenarios, models.
"use strict";

const BASE = "/console/api";
const V1 = `${BASE}/v1`;
const POLL_MS = 3000;
const $ = (id) => document.getElementById(id);
const data = { incidents: null, approvals: null, scenarios: null, models: null };
const errors = {};
const selected = new Set(); // approval ids ticked for a bulk decision
const edits = new Map(); // approval id -> edited text
const editing = new Set(); // approval ids whose editor is open
const snapshots = []; // scenario report snapshots taken by this tab: [time, {scenario: rate}]
let timer = null;

function body(panel) { return $(panel).querySelector(".body"); }

function problem(exc) {
  if (exc.status === 403) return `${t("err.scope")}: ${exc.message}`;
  if (exc.status === 404 || exc.status === 405) return t("err.unavailable");
  return exc.message;
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
  ]).catch(() => null);
  if (Array.isArray(data.scenarios)) {
    snapshots.push([new Date().toLocaleTimeString(LANG),
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

function renderIncidents() {
  if (failed("incidents") || !data.incidents) return;
  if (!data.incidents.length) { body("incidents").replaceChildren(el("p", { class: "muted" }, t("inc.none"))); return; }
  const cols = ["affected", "notified", "pending", "suppressed", "failed", "calls_before_notice", "calls_after_notice"];
  body("incidents").replaceChildren(table(
    [["inc.incident"], ["inc.eta"], ["inc.affected", 1], ["inc.notified", 1], ["inc.pending", 1],
      ["inc.suppressed", 1], ["inc.failed", 1], ["inc.calls_before", 1], ["inc.calls_after", 1]],
    data.incidents.map((i) => el("tr", { dataset: { incident: i.id } },
      el("th", { scope: "row" }, `${i.title} (${i.id})`),
      el("td", {}, i.eta ? new Date(i.eta).toLocaleString(LANG) : "—"),
      cols.map((c) => el("td", { class: "num", dataset: { count: c } }, i.counts ? i.counts[c] : "—"))))));
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
      el("div", { class: "actions" }, box, el("label", { for: `sel-${m.id}` }, `${t("appr.select")} ${m.id}`)),
      el("p", { class: "muted" },
        `${t("appr.scenario")}: ${m.scenario} · ${t("appr.channel")}: ${m.channel} · ${t("appr.customer")}: ${m.customer_id}`,
        m.expires_at ? ` · ${t("appr.expires")}: ${new Date(m.expires_at * 1000 || m.expires_at).toLocaleString(LANG)}` : ""),
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
  const rows = data.scenarios.map((s) => el("tr", { dataset: { scenario: s.scenario } },
    el("th", { scope: "row" }, s.scenario),
    cols.map((c) => el("td", { class: "num" }, s[c] ?? "—")),
    el("td", { class: "num" }, s.uplift && s.uplift.value !== null ? `${pct(s.uplift.value)} [${pct(s.uplift.low)}; ${pct(s.uplift.high)}]` : "—")));
  const charts = data.scenarios.map((s) => el("div", {},
    el("h3", {}, s.scenario),
    barChart(`${t("sc.funnel")}: ${s.scenario}`, cols.slice(0, 5).map((c) => [t(`sc.${c}`), s[c]])),
    s.uplift ? el("p", {}, t("sc.uplift")) : null,
    s.uplift ? intervalChart(`${t("sc.uplift")}: ${s.scenario}`, s.uplift.value, s.uplift.low, s.uplift.high) : null,
    snapshots.length > 1 ? el("p", {}, t("sc.history")) : null,
    snapshots.length > 1 ? lineChart(`${t("sc.history")}: ${s.scenario}`, snapshots.map(([time, rates]) => [time, rates[s.scenario] ?? null])) : null));
  replace(body("scenarios"),
    table([["sc.scenario"], ...cols.map((c) => [`sc.${c}`, 1]), ["sc.uplift", 1]], rows),
    el("div", { class: "grid" }, charts));
}

function renderModels() {
  if (failed("models") || !data.models) return;
  const { cards, live } = data.models;
  const metric = (side) => Object.entries(side || {}).map(([k, v]) => `${k} ${Number(v).toFixed(3)}`).join(", ");
  replace(body("models"),
    table([["mod.name"], ["mod.version"], ["mod.trained"], ["mod.running"], ["mod.test"]],
      cards.map((c) => el("tr", { dataset: { model: c.name } },
        el("th", { scope: "row" }, `${c.name} (${c.model_type})`), el("td", {}, c.version),
        el("td", {}, c.trained_at), el("td", {}, c.running), el("td", {}, metric(c.test.model))))),
    el("h3", {}, t("mod.live")),
    el("p", { id: "live-accuracy", dataset: { examples: live.examples } },
      `${t("mod.examples")}: ${live.examples} · ${t("mod.accuracy")}: ${pct(live.accuracy)} · `
      + `${t("mod.actionable")}: ${live.actionable.examples} (${pct(live.actionable.accuracy)})`),
    lineChart(t("mod.daily"), live.daily.map((d) => [d.day, d.accuracy])),
    Object.keys(live.by_reason).length ? table([["mod.reason"], ["mod.examples", 1], ["mod.recall", 1]],
      Object.entries(live.by_reason).map(([reason, r]) => el("tr", {},
        el("th", { scope: "row" }, reasonLabel(reason)), el("td", { class: "num" }, r.examples),
        el("td", { class: "num" }, pct(r.recall))))) : null);
}

function showLogin() {
  clearInterval(timer);
  $("console").hidden = true; $("nav").hidden = true; $("logout").hidden = true;
  $("who").textContent = "";
  $("login").hidden = false;
  $("key").focus();
}

function showConsole(who) {
  $("login").hidden = true;
  $("console").hidden = false; $("nav").hidden = false; $("logout").hidden = false;
  $("who").textContent = `${t("login.as")} ${who.key_name}`;
  refresh();
  clearInterval(timer);
  timer = setInterval(refresh, POLL_MS);
}

function start() {
  for (const id of ["incidents-h", "approvals-h", "scenarios-h", "models-h"]) $(id).tabIndex = -1;
  setupLang($("lang"), renderAll);
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
