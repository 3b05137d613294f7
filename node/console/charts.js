// Hand-written SVG charts: grouped bars (cards by department × level) and lines (cards per day).
// Colours come from classes in app.css (the CSP allows no inline styles).

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c);
  return el;
}

function label(x, y, text, anchor = "middle") {
  const t = svg("text", { x, y, "text-anchor": anchor });
  t.textContent = text;
  return t;
}

/** An upper bound for an axis whose four grid steps are whole numbers. */
function niceMax(n) {
  const steps = 4;
  const per = Math.max(1, Math.ceil(n / steps));
  const p = 10 ** Math.max(0, Math.floor(Math.log10(per)));
  return Math.ceil(per / p) * p * steps;
}

/**
 * Grouped bars: `groups` = [{ label, values: { warning, yellow, red } }], `series` = [[key, name]].
 * The chart's title is its accessible name; a table beside it carries the same figures.
 */
export function groupedBars(title, groups, series) {
  const width = 640;
  const height = 260;
  const left = 36;
  const bottom = 48;
  const top = 12;
  const plotH = height - top - bottom;
  const max = niceMax(Math.max(1, ...groups.flatMap((g) => series.map(([k]) => g.values[k] || 0))));
  const groupW = (width - left - 10) / Math.max(1, groups.length);
  const barW = Math.max(4, Math.min(28, (groupW - 12) / series.length));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": title });
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH - (plotH * i) / 4;
    chart.append(svg("line", { x1: left, x2: width - 10, y1: y, y2: y, class: "grid" }), label(left - 6, y + 4, String((max * i) / 4), "end"));
  }
  groups.forEach((g, gi) => {
    const x0 = left + gi * groupW + (groupW - barW * series.length) / 2;
    series.forEach(([key, name], si) => {
      const v = g.values[key] || 0;
      const hgt = (plotH * v) / max;
      const bar = svg("rect", { x: x0 + si * barW, y: top + plotH - hgt, width: barW - 2, height: Math.max(0, hgt), class: key });
      const tip = svg("title");
      tip.textContent = `${g.label} ${name}:${v}`;
      bar.append(tip);
      chart.append(bar);
    });
    chart.append(label(left + gi * groupW + groupW / 2, height - bottom + 16, g.label.length > 9 ? `${g.label.slice(0, 9)}…` : g.label));
  });
  chart.append(svg("line", { x1: left, x2: width - 10, y1: top + plotH, y2: top + plotH, class: "axis" }));
  return chart;
}

/** Lines over days: `days` = [{ date, warning, yellow, red }]. */
export function dailyLines(title, days, series) {
  const width = 640;
  const height = 240;
  const left = 36;
  const bottom = 36;
  const top = 12;
  const plotH = height - top - bottom;
  const plotW = width - left - 10;
  const max = niceMax(Math.max(1, ...days.flatMap((d) => series.map(([k]) => d[k] || 0))));
  const step = days.length > 1 ? plotW / (days.length - 1) : 0;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": title });
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH - (plotH * i) / 4;
    chart.append(svg("line", { x1: left, x2: width - 10, y1: y, y2: y, class: "grid" }), label(left - 6, y + 4, String((max * i) / 4), "end"));
  }
  const every = Math.max(1, Math.ceil(days.length / 8));
  days.forEach((d, i) => {
    // Every `every`-th day, and the last one unless it would sit on top of the previous label.
    const last = i === days.length - 1 && (i % every === 0 || i % every >= every / 2);
    if (i % every === 0 || last) chart.append(label(left + i * step, height - bottom + 16, d.date.slice(5)));
  });
  for (const [key, name] of series) {
    const points = days.map((d, i) => `${left + i * step},${top + plotH - (plotH * (d[key] || 0)) / max}`).join(" ");
    const line = svg("polyline", { points, class: key });
    const tip = svg("title");
    tip.textContent = name;
    line.append(tip);
    chart.append(line);
    days.forEach((d, i) => {
      if (d[key]) {
        const dot = svg("circle", { cx: left + i * step, cy: top + plotH - (plotH * d[key]) / max, r: 3, class: key });
        const t = svg("title");
        t.textContent = `${d.date} ${name}:${d[key]}`;
        dot.append(t);
        chart.append(dot);
      }
    });
  }
  chart.append(svg("line", { x1: left, x2: width - 10, y1: top + plotH, y2: top + plotH, class: "axis" }));
  return chart;
}
