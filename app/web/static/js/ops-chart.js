// @ts-check
/* The summary's chart: transactions opened and settled per hour over the last 24
 * hours, as an SVG bar pair per hour (drawn here; no chart library). Colours come
 * from ops.css classes; the figure's label states the totals for screen readers. */
import { formatNumber, t } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 480;
const H = 120;
const BASE = H - 16;  // room for the hour labels under the bars

function node(tag, attrs, text) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text) n.textContent = text;
  return n;
}

function hourLabel(iso) {
  const d = new Date(iso);
  return String(d.getHours()).padStart(2, "0") + ":00";
}

export function drawChart(container, hours) {
  container.textContent = "";
  const max = Math.max(1, ...hours.map((h) => Math.max(h.pending, h.settled)));
  const slot = W / hours.length;
  const opened = hours.reduce((s, h) => s + h.pending, 0);
  const settled = hours.reduce((s, h) => s + h.settled, 0);
  const peak = hours.reduce((best, h) => (h.pending + h.settled > best.pending + best.settled ? h : best), hours[0]);
  const svg = node("svg", {
    viewBox: `0 0 ${W} ${H}`, role: "img", class: "bars",
    "aria-label": t("ops.chart.label", {
      opened: formatNumber(opened), settled: formatNumber(settled), peak: peak ? hourLabel(peak.hour) : "—",
    }),
  });
  hours.forEach((h, i) => {
    const x = i * slot;
    const bar = (value, dx, cls) => {
      const height = Math.round((value / max) * (BASE - 4));
      svg.appendChild(node("rect", {
        x: x + dx, y: BASE - height, width: slot / 2 - 2, height, class: cls,
        "data-hour": h.hour, "data-value": value,
      }));
    };
    bar(h.pending, 1, "bar-pending");
    bar(h.settled, slot / 2, "bar-settled");
    if (i % 6 === 0) svg.appendChild(node("text", { x, y: H - 2, class: "axis" }, hourLabel(h.hour)));
  });
  svg.appendChild(node("line", { x1: 0, y1: BASE, x2: W, y2: BASE, class: "baseline" }));
  container.appendChild(svg);
}
