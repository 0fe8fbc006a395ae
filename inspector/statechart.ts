// An actor's machine drawn as a statechart (SVG): each state a box, compound states holding
// their children, the initial state marked with a dot, transitions as labelled arrows (loops for
// a state re-entering itself, dashed for `always`), events a state handles without changing
// state listed inside it. The current state is lit, and an arrow flashes when an event that
// takes it arrives. Our machines are small (two to six states), so a grid of boxes reads well
// and needs no graph-layout library.
import type { StateNodeView } from "./model.ts";

const SVG = "http://www.w3.org/2000/svg";
const CHAR = 6.8; // width of one character of the 11-12 px font, near enough for layout
const COL_GAP = 150;
const ROW_GAP = 70;
const PAD = 14;
const HEAD = 24;

interface Box {
  node: StateNodeView;
  path: string;
  x: number;
  y: number;
  w: number;
  h: number;
  children: Box[];
  /** Wrapped lines of the events handled without a state change. */
  internal: string[];
}

function svg(tag: string, attrs: Record<string, string | number>, ...children: (Node | string)[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

function wrap(words: string[], width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    const next = line ? `${line}, ${w}` : w;
    if (next.length * CHAR > width && line) {
      lines.push(`${line},`);
      line = w;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

/** Sizes every box bottom-up, then places children in a grid of at most three columns. */
function measure(node: StateNodeView, path: string): Box {
  const children = Object.values(node.states).map((s) => measure(s, `${path}.${s.key}`));
  const internalEvents = node.on.filter(([, target]) => !target).map(([event]) => event);
  const label = node.key.length * (CHAR + 0.8) + 2 * PAD;
  if (children.length === 0) {
    const w = Math.max(96, label, Math.min(200, internalEvents.join(", ").length * CHAR + 2 * PAD));
    const internal = wrap(internalEvents, w - 2 * PAD);
    return { node, path, x: 0, y: 0, w, h: 36 + internal.length * 13, children, internal };
  }
  const cols = Math.min(3, children.length);
  const colW: number[] = new Array(cols).fill(0);
  const rowH: number[] = [];
  children.forEach((c, i) => {
    colW[i % cols] = Math.max(colW[i % cols], c.w);
    rowH[Math.floor(i / cols)] = Math.max(rowH[Math.floor(i / cols)] ?? 0, c.h);
  });
  const gridW = colW.reduce((a, b) => a + b, 0) + COL_GAP * (cols - 1);
  const w0 = Math.max(gridW + 2 * PAD + 30 + 40, label + 40);
  const internal = wrap(internalEvents, w0 - 2 * PAD);
  const loopLabels = Math.max(0, ...children.map((c) => c.node.on.filter(([, t]) => t.split(",").includes(c.node.key)).length));
  const top = HEAD + internal.length * 13 + 44 + loopLabels * 12; // room for loops and their labels above the first row
  children.forEach((c, i) => {
    const col = i % cols;
    const row = Math.floor(i / cols);
    c.x = PAD + 30 + colW.slice(0, col).reduce((a, b) => a + b, 0) + COL_GAP * col + (colW[col] - c.w) / 2;
    c.y = top + rowH.slice(0, row).reduce((a, b) => a + b, 0) + ROW_GAP * row;
  });
  const h = top + rowH.reduce((a, b) => a + b, 0) + ROW_GAP * (rowH.length - 1) + PAD + 14;
  return { node, path, x: 0, y: 0, w: w0, h, children, internal };
}

/** Absolute positions: children's x/y are relative to their parent until here. */
function place(box: Box, dx: number, dy: number, out: Map<string, Box>): void {
  box.x += dx;
  box.y += dy;
  out.set(box.path, box);
  for (const c of box.children) place(c, box.x, box.y, out);
}

/** Is the state at this path (root key first) active in a state value? */
export function isActive(value: unknown, path: string[]): boolean {
  let v = value;
  for (const key of path.slice(1)) {
    if (typeof v === "string") return v === key && key === path[path.length - 1];
    if (!v || typeof v !== "object" || !(key in v)) return false;
    v = (v as Record<string, unknown>)[key];
  }
  return true;
}

/** Where the segment from a box's centre towards (tx, ty) leaves the box. */
function edgePoint(b: Box, tx: number, ty: number): [number, number] {
  const cx = b.x + b.w / 2;
  const cy = b.y + b.h / 2;
  const dx = tx - cx;
  const dy = ty - cy;
  const s = Math.min(Math.abs((b.w / 2) / (dx || 1e-9)), Math.abs((b.h / 2) / (dy || 1e-9)));
  return [cx + dx * s, cy + dy * s];
}

export class Statechart {
  readonly el: SVGSVGElement;
  private readonly boxes = new Map<string, Box>();
  private readonly nodes = new Map<string, SVGElement>();
  private readonly edges: { el: SVGElement; event: string }[] = [];

  constructor(readonly machine: StateNodeView) {
    const root = measure(machine, machine.key);
    place(root, 1, 1, this.boxes);
    this.el = svg("svg", { class: "statechart", viewBox: `0 0 ${root.w + 2} ${root.h + 2}`, width: root.w + 2, height: root.h + 2, role: "img", "aria-label": `statechart of ${machine.key}` }) as SVGSVGElement;
    this.el.append(svg("defs", {}, svg("marker", { id: `arrow-${machine.key}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" }, svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }))));
    this.drawBox(root);
    this.drawEdges();
  }

  private drawBox(b: Box): void {
    const g = svg("g", { class: `state ${b.children.length ? "compound" : "atomic"}`, "data-state": b.path });
    g.append(svg("rect", { x: b.x, y: b.y, width: b.w, height: b.h, rx: 8 }));
    g.append(svg("text", { x: b.x + PAD, y: b.y + 18, class: "name" }, b.node.key + (b.node.type === "final" ? " (final)" : "")));
    b.internal.forEach((line, i) => g.append(svg("text", { x: b.x + PAD, y: b.y + 32 + i * 13, class: "internal" }, line)));
    if (b.internal.length) g.append(svg("title", {}, `handled here without a change of state: ${b.node.on.filter(([, t]) => !t).map(([e]) => e).join(", ")}`));
    this.el.append(g);
    this.nodes.set(b.path, g);
    const initial = b.children.find((c) => c.node.key === b.node.initial);
    if (initial) {
      const y = initial.y + initial.h / 2;
      this.el.append(svg("circle", { cx: initial.x - 24, cy: y, r: 4, class: "initial" }));
      this.el.append(svg("path", { d: `M${initial.x - 20},${y} L${initial.x - 1},${y}`, class: "edge", "marker-end": `url(#arrow-${this.machine.key})` }));
    }
    for (const c of b.children) this.drawBox(c);
  }

  /**
   * One arrow per (source, target), labelled with every event that takes it (stacked lines);
   * a state that re-enters itself gets one loop above it. A→B and B→A bend to opposite sides.
   */
  private drawEdges(): void {
    // Targets are keys: the shallowest box with that key (our machines do not repeat keys).
    const byKey = new Map<string, Box>();
    for (const box of this.boxes.values()) if (!byKey.has(box.node.key)) byKey.set(box.node.key, box);
    const groups = new Map<string, { from: Box; to: Box; events: string[] }>();
    for (const box of this.boxes.values()) {
      for (const [event, targets] of box.node.on) {
        for (const key of targets ? targets.split(",") : []) {
          const to = byKey.get(key);
          if (!to) continue;
          const k = `${box.path}->${to.path}`;
          if (!groups.has(k)) groups.set(k, { from: box, to, events: [] });
          if (!groups.get(k)!.events.includes(event)) groups.get(k)!.events.push(event);
        }
      }
    }
    for (const { from, to, events } of groups.values()) {
      let d: string;
      let lx: number;
      let ly: number;
      if (to === from) {
        const x0 = from.x + from.w / 2 - 18;
        d = `M${x0},${from.y} C${x0 - 16},${from.y - 34} ${x0 + 52},${from.y - 34} ${x0 + 36},${from.y}`;
        lx = x0 + 18;
        ly = from.y - 30 - (events.length - 1) * 12;
      } else {
        const [sx, sy] = edgePoint(from, to.x + to.w / 2, to.y + to.h / 2);
        const [tx, ty] = edgePoint(to, from.x + from.w / 2, from.y + from.h / 2);
        const len = Math.hypot(tx - sx, ty - sy) || 1;
        // The normal turns with the direction, so a constant bend puts A→B and B→A apart.
        const mx = (sx + tx) / 2 + (-(ty - sy) / len) * 22;
        const my = (sy + ty) / 2 + ((tx - sx) / len) * 22;
        d = `M${sx},${sy} Q${mx},${my} ${tx},${ty}`;
        lx = (sx + 2 * mx + tx) / 4;
        ly = (sy + 2 * my + ty) / 4 + (my < (sy + ty) / 2 ? -6 - (events.length - 1) * 12 : 14);
      }
      const label = svg("text", { x: lx, y: ly, class: "label", "text-anchor": "middle" });
      events.forEach((e, i) => label.append(svg("tspan", { x: lx, dy: i === 0 ? 0 : 12 }, e)));
      const g = svg("g", { class: `transition${events.every((e) => e === "always") ? " always" : ""}`, "data-events": events.join(" "), "data-from": from.path, "data-to": to.path },
        svg("path", { d, class: "edge", "marker-end": `url(#arrow-${this.machine.key})` }), label);
      this.el.append(g);
      for (const event of events) this.edges.push({ el: g, event });
    }
  }

  /** Lights the states active in `value`; returns the paths lit. */
  setValue(value: unknown): string[] {
    const lit: string[] = [];
    for (const [path, g] of this.nodes) {
      const on = isActive(value, path.split("."));
      g.classList.toggle("current", on && path.includes("."));
      if (on && path.includes(".")) lit.push(path);
    }
    return lit;
  }

  /** Flashes the arrows an event of this type takes (xstate.after.<delay>... takes "after <delay>"). */
  fire(type: string): void {
    const name = type.startsWith("xstate.after.") ? `after ${type.split(".")[2]}` : type;
    for (const e of this.edges) {
      if (e.event !== name) continue;
      e.el.classList.remove("fired");
      // Restart the CSS animation: the class comes back on the next frame.
      requestAnimationFrame(() => e.el.classList.add("fired"));
    }
  }
}
