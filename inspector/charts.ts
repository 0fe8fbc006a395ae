// Small live charts on canvas: per topic, messages in and out per second; per consumer group,
// its lag. One canvas per series, redrawn after each frame.
import { h } from "./dom.ts";
import type { Model, Point } from "./model.ts";

const W = 220;
const H = 60;
const COLORS = ["#2563eb", "#16a34a"];

export function renderCharts(el: HTMLElement, model: Model): void {
  const wanted: [key: string, title: string, points: Point[], legend: string[]][] = [];
  for (const [topic, points] of model.rates) wanted.push([`rate:${topic}`, topic, points, ["in/s", "out/s"]]);
  for (const [group, points] of model.lag) wanted.push([`lag:${group}`, `lag of ${group}`, points, ["lag"]]);
  const existing = new Map([...el.querySelectorAll<HTMLElement>("figure.chart")].map((f) => [f.dataset.chart!, f]));
  for (const [key, title, points, legend] of wanted) {
    let fig = existing.get(key);
    existing.delete(key);
    if (!fig) {
      fig = h("figure", { class: "chart", "data-chart": key }, h("canvas", { width: W, height: H }), h("figcaption", {}, ""));
      el.append(fig);
    }
    const last = points[points.length - 1]?.values ?? [];
    fig.querySelector("figcaption")!.textContent = `${title}: ${legend.map((l, i) => `${l} ${format(last[i] ?? 0)}`).join(", ")}`;
    draw(fig.querySelector("canvas")!, points);
  }
  for (const stale of existing.values()) stale.remove();
  if (!wanted.length && !el.querySelector(".empty")) el.replaceChildren(h("p", { class: "empty" }, "no traffic yet"));
  else if (wanted.length) el.querySelector(".empty")?.remove();
}

function draw(canvas: HTMLCanvasElement, points: Point[]): void {
  const g = canvas.getContext("2d");
  if (!g) return;
  g.clearRect(0, 0, W, H);
  if (points.length < 2) return;
  const max = Math.max(1, ...points.flatMap((p) => p.values));
  const t0 = points[0].t;
  const span = Math.max(1, points[points.length - 1].t - t0);
  const series = points[0].values.length;
  for (let s = 0; s < series; s++) {
    g.strokeStyle = COLORS[s % COLORS.length];
    g.lineWidth = 1.5;
    g.beginPath();
    points.forEach((p, i) => {
      const x = ((p.t - t0) / span) * (W - 2) + 1;
      const y = H - 2 - ((p.values[s] ?? 0) / max) * (H - 6);
      if (i === 0) g.moveTo(x, y);
      else g.lineTo(x, y);
    });
    g.stroke();
  }
  g.fillStyle = "#6b6b70";
  g.font = "10px sans-serif";
  g.fillText(format(max), 2, 10);
}

function format(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(0)}k` : n >= 100 ? n.toFixed(0) : n.toFixed(1).replace(/\.0$/, "");
}
