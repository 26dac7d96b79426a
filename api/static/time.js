// Dates and times in the operator's time zone, written the way the page's language writes
// them, each labelled with its zone. The zone is the operator's choice (kept in this
// browser), else the service's default zone, else the browser's.
"use strict";

// Russian zones as people name them: by their offset from Moscow, and a city.
const ZONES = {
  "Europe/Kaliningrad": ["МСК−1", "Калининград", "Kaliningrad"],
  "Europe/Moscow": ["МСК", "Москва", "Moscow"],
  "Europe/Samara": ["МСК+1", "Самара", "Samara"],
  "Asia/Yekaterinburg": ["МСК+2", "Екатеринбург", "Yekaterinburg"],
  "Asia/Omsk": ["МСК+3", "Омск", "Omsk"],
  "Asia/Novosibirsk": ["МСК+4", "Новосибирск", "Novosibirsk"],
  "Asia/Krasnoyarsk": ["МСК+4", "Красноярск", "Krasnoyarsk"],
  "Asia/Irkutsk": ["МСК+5", "Иркутск", "Irkutsk"],
  "Asia/Yakutsk": ["МСК+6", "Якутск", "Yakutsk"],
  "Asia/Vladivostok": ["МСК+7", "Владивосток", "Vladivostok"],
  "Asia/Magadan": ["МСК+8", "Магадан", "Magadan"],
  "Asia/Kamchatka": ["МСК+9", "Петропавловск-Камчатский", "Petropavlovsk-Kamchatsky"],
};
let ZONE = localStorage.getItem("forecall.zone") || browserZone();

function browserZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch { return "UTC"; }
}

/** The server's default zone applies unless the operator picked one in this browser. */
function serverZone(zone) {
  if (zone && !localStorage.getItem("forecall.zone")) ZONE = zone;
}

/** "МСК+4", "UTC+5" or "UTC": a zone's name as a reader knows it. */
function zoneLabel(zone = ZONE, at = new Date()) {
  if (LANG === "ru" && ZONES[zone]) return ZONES[zone][0];
  try {
    const part = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "shortOffset" })
      .formatToParts(at).find((p) => p.type === "timeZoneName");
    return part ? part.value.replace("GMT", "UTC") : zone;
  } catch { return zone; }
}

/** ISO text or unix seconds to a Date (null for nothing). */
function toDate(value) {
  if (value === null || value === undefined || value === "") return null;
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** «18 ноября, 15:00 (МСК)»: a moment in `zone`, with the zone named. */
function when(value, zone = ZONE, { label = true } = {}) {
  const date = toDate(value);
  if (!date) return "—";
  const locale = LANG === "en" ? "en-GB" : "ru-RU";
  const sameYear = date.getUTCFullYear() === new Date().getUTCFullYear();
  const text = new Intl.DateTimeFormat(locale, {
    timeZone: zone, day: "numeric", month: "long", year: sameYear ? undefined : "numeric",
    hour: "2-digit", minute: "2-digit",
  }).format(date);
  return label ? `${text} (${zoneLabel(zone, date)})` : text;
}

/** «18.11»: a day given as YYYY-MM-DD, for chart axes. */
function day(value) {
  const [y, m, d] = String(value).split("-");
  return d ? (LANG === "en" ? `${d}/${m}` : `${d}.${m}`) : String(value);
}

/** A time of day in the operator's zone, for "as of" notes. */
function clock(date = new Date()) {
  return new Intl.DateTimeFormat(LANG === "en" ? "en-GB" : "ru-RU",
    { timeZone: ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(date);
}

/** A <select> of zones in the page header; `changed()` redraws what shows times. */
function setupZone(select, changed) {
  const zones = [...new Set([...Object.keys(ZONES), browserZone(), ZONE, "UTC"])];
  const city = (z) => (ZONES[z] ? ` — ${ZONES[z][LANG === "en" ? 2 : 1]}` : "");
  const fill = () => select.replaceChildren(...zones.map((z) =>
    el("option", { value: z, selected: z === ZONE }, `${zoneLabel(z)}${city(z)}`)));
  fill();
  select.addEventListener("change", () => {
    ZONE = select.value;
    localStorage.setItem("forecall.zone", ZONE);
    changed();
  });
  return fill;
}
