// Time-series charts drawn by uPlot (a small, well-kept canvas library): a real time axis, a
// value axis, a legend with each series' colour and its value under the cursor, and gaps where
// nothing is known (the page was disconnected or the broker restarted: null points). The
// caption says each series' current value, never the axis maximum.
import uPlot from "uplot";
import { h } from "./dom.ts";
import { clock } from "./human-units.ts";

export interface Series {
  label: string;
  values: (number | null)[];
}

const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];

export class TimeChart {
  readonly el: HTMLElement;
  private readonly plotBox: HTMLElement;
  private readonly caption: HTMLElement;
  private plot: uPlot | null = null;
  /** The series labels and theme the plot was built for: rebuilt when either changes. */
  private shape = "";
  private readonly resize: ResizeObserver;

  constructor(id: string, private readonly title: string, private readonly format: (v: number) => string, private readonly height = 160) {
    this.plotBox = h("div", { class: "plot" });
    this.caption = h("figcaption", {}, title);
    this.el = h("figure", { class: "chart", id, "data-chart": id }, this.caption, this.plotBox);
    this.resize = new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: this.height }));
    this.resize.observe(this.plotBox);
  }

  /** xs: milliseconds since the epoch; each series a value per x, null for a gap. */
  update(xs: number[], series: Series[]): void {
    const last = (s: Series) => {
      for (let i = s.values.length - 1; i >= 0; i--) if (s.values[i] !== null) return i === s.values.length - 1 ? s.values[i] : null;
      return null;
    };
    const now = series.map((s) => `${s.label} ${last(s) === null ? "–" : this.format(last(s)!)}`);
    this.caption.replaceChildren(h("b", {}, this.title), " ", h("span", { class: "current", "data-current": "" }, series.length ? now.join(" · ") : "no data yet"));
    const theme = document.documentElement.dataset.theme ?? "";
    const shape = `${theme}\n${series.map((s) => s.label).join("\n")}`;
    const data = [xs.map((t) => t / 1000), ...series.map((s) => s.values)] as uPlot.AlignedData;
    if (this.plot && shape === this.shape) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.shape = shape;
    const css = getComputedStyle(document.documentElement);
    const fg = css.getPropertyValue("--muted").trim() || "#666";
    const grid = css.getPropertyValue("--line").trim() || "#ddd";
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    this.plot = new uPlot({
      width: this.width(),
      height: this.height,
      cursor: { drag: { x: false, y: false } },
      scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      // Whole seconds at least: ticks every 1, 2, 5, 10, 15, 30 s, then minutes.
      axes: [{ ...axis, space: 70, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600], values: (_u, ticks) => ticks.map((t) => clock(t * 1000)) }, { ...axis, size: 56, values: (_u, ticks) => ticks.map((v) => this.format(v)) }],
      series: [
        { value: "{HH}:{mm}:{ss}" },
        ...series.map((s, i) => ({ label: s.label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false, value: (_u: uPlot, v: number | null) => (v === null ? "–" : this.format(v)) })),
      ],
    }, data, this.plotBox);
  }

  private width(): number {
    return Math.max(200, Math.floor(this.plotBox.clientWidth || 320));
  }
}
