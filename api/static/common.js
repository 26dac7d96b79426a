// Shared by the desk and the console: the language, DOM building, API calls, errors.
// Texts are set with textContent only: nothing from the server is parsed as HTML.
// The words themselves are in texts.js and labels.js, loaded first.
"use strict";

function currentLang() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked === "ru" || asked === "en") { localStorage.setItem("forecall.lang", asked); return asked; }
  return localStorage.getItem("forecall.lang") === "en" ? "en" : "ru";
}

let LANG = currentLang();

function t(key) { return (TEXTS[LANG] && TEXTS[LANG][key]) || TEXTS.ru[key] || key; }

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

/** 0.871 as «0,871» on a Russian page. */
function num(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(Number(x))) return "—";
  return Number(x).toLocaleString(LANG === "en" ? "en-GB" : "ru-RU",
    { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** What went wrong, in the page's language: the API's own message is English and meant
 * for integrators, so the page says it from the status and the named field or scope. */
function problemText(exc) {
  if (!(exc instanceof ApiError)) return t("err.network");
  const body = exc.body || {};
  if (exc.status === 401) return t("err.unauthorized");
  if (exc.status === 403) {
    const scope = body.scope || (/'([a-z_]+)' scope/.exec(body.message || "") || [])[1];
    if (scope) return `${t("err.scope")} «${label(SCOPES, scope)}»`;
    return /X-Forecall/.test(body.message || "") ? t("err.csrf") : t("err.scope");
  }
  if (exc.status === 404 || exc.status === 405) return t("err.not_found");
  if (body.field === "operator_id") return t("err.operator_id");
  if (body.field) return `${t("err.invalid")} «${label(FIELDS, body.field)}»`;
  if (exc.status >= 500) return t("err.server");
  return t("err.server");
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `status ${status}`);
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
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; } // a proxy's HTML page
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
      error.textContent = problemText(exc);
      const field = exc.body && exc.body.field && form.querySelector(`[name="${exc.body.field}"]`);
      (field || form.querySelector("input")).focus();
    }
  });
}
