// Small inline-SVG charts: bars, a line over time, an interval. No library.
"use strict";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function chart(width, height, title, ...children) {
  return svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": title },
    svg("title", {}, title), ...children);
}

/** Horizontal bars: [[label, value], ...]; the value's text beside each bar. */
function barChart(title, rows, format = String) {
  const barH = 18, gap = 6, labelW = 120, width = 420;
  const max = Math.max(1, ...rows.map(([, v]) => v || 0));
  const parts = rows.flatMap(([label, value], i) => {
    const y = i * (barH + gap);
    const w = Math.round(((value || 0) / max) * (width - labelW - 60));
    return [
      svg("text", { x: 0, y: y + 13 }, label),
      svg("rect", { x: labelW, y, width: Math.max(w, 1), height: barH, fill: "#0b57a4" }),
      svg("text", { x: labelW + w + 4, y: y + 13 }, format(value || 0)),
    ];
  });
  return chart(width, rows.length * (barH + gap), title, ...parts);
}

/** A line over time: points [[label, value or null], ...], values in 0..1. */
function lineChart(title, points) {
  const width = 420, height = 140, left = 34, bottom = 20, top = 8;
  const plotW = width - left - 8, plotH = height - top - bottom;
  const x = (i) => left + (points.length > 1 ? (i / (points.length - 1)) * plotW : plotW / 2);
  const y = (v) => top + (1 - v) * plotH;
  const parts = [
    svg("line", { x1: left, y1: y(0), x2: left + plotW, y2: y(0), stroke: "#6b7785" }),
    svg("line", { x1: left, y1: y(1), x2: left + plotW, y2: y(1), stroke: "#c9d1da" }),
    svg("text", { x: 0, y: y(1) + 4 }, "100%"),
    svg("text", { x: 0, y: y(0) + 4 }, "0%"),
  ];
  const known = points.map(([, v], i) => [i, v]).filter(([, v]) => v !== null && v !== undefined);
  if (known.length > 1) {
    const d = known.map(([i, v], n) => `${n ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    parts.push(svg("path", { d, fill: "none", stroke: "#0b57a4", "stroke-width": 2 }));
  }
  for (const [i, v] of known) parts.push(svg("circle", { cx: x(i), cy: y(v), r: 3, fill: "#0b57a4" }));
  if (points.length) {
    parts.push(svg("text", { x: left, y: height - 4 }, points[0][0]));
    parts.push(svg("text", { x: left + plotW, y: height - 4, "text-anchor": "end" }, points[points.length - 1][0]));
  }
  return chart(width, height, title, ...parts);
}

/** A value with its interval against zero (uplift and its confidence bounds). */
function intervalChart(title, value, low, high) {
  const width = 420, height = 40, pad = 40;
  const span = Math.max(Math.abs(low ?? 0), Math.abs(high ?? 0), Math.abs(value ?? 0), 0.01);
  const x = (v) => pad + ((v + span) / (2 * span)) * (width - 2 * pad);
  const parts = [
    svg("line", { x1: x(0), y1: 4, x2: x(0), y2: 30, stroke: "#6b7785" }),
    svg("text", { x: x(0), y: 40, "text-anchor": "middle" }, "0"),
  ];
  if (low !== null && low !== undefined && high !== null && high !== undefined) {
    parts.push(svg("line", { x1: x(low), y1: 17, x2: x(high), y2: 17, stroke: "#0b57a4", "stroke-width": 3 }));
  }
  if (value !== null && value !== undefined) {
    parts.push(svg("circle", { cx: x(value), cy: 17, r: 5, fill: value >= 0 ? "#17692d" : "#a3161b" }));
  }
  return chart(width, height, title, ...parts);
}
