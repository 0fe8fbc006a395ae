// The sampled events as a sequence diagram: one lifeline per actor, oldest event at the top,
// an arrow from the sender to the receiver labelled with the event type. Events with no sender
// come from outside the actor system (a client's request, a timer): the "outside" lifeline.
import { clockMs } from "./human-units.ts";
import type { EventView } from "./model.ts";

const SVG = "http://www.w3.org/2000/svg";
const COL = 150;
const ROW = 26;
const TOP = 44;
const LEFT = 96;
const MAX_LANES = 8;
const OUTSIDE = "outside";
const OTHERS = "others";

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** Draws the events (oldest first) as a diagram; `focus` (an actor id) gets the first lane after "outside". */
export function sequenceDiagram(events: EventView[], focus: string | null): SVGSVGElement {
  const lanes: string[] = [];
  const want = (id: string) => {
    if (!lanes.includes(id)) lanes.push(id);
  };
  if (events.some((e) => e.from === null)) want(OUTSIDE);
  if (focus && events.some((e) => e.to === focus || e.from === focus)) want(focus);
  for (const e of events) {
    want(e.from ?? OUTSIDE);
    want(e.to);
  }
  const shown = lanes.length > MAX_LANES ? [...lanes.slice(0, MAX_LANES - 1), OTHERS] : lanes;
  const lane = (id: string) => (shown.includes(id) ? shown.indexOf(id) : shown.length - 1);
  const x = (i: number) => LEFT + i * COL + COL / 2;
  const width = LEFT + shown.length * COL;
  const height = TOP + events.length * ROW + 12;
  const root = svg("svg", { class: "sequence", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "sequence of sampled events" }) as SVGSVGElement;
  root.append(svg("defs", {}));
  root.firstChild!.appendChild(svg("marker", { id: "seq-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" })).appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }));
  shown.forEach((id, i) => {
    const label = id.length > 22 ? `…${id.slice(-21)}` : id;
    const head = svg("text", { x: x(i), y: 18, class: `lane-label${id === focus ? " focus" : ""}`, "text-anchor": "middle", "data-lane": id }, label);
    head.appendChild(svg("title", {}, id));
    root.append(head, svg("line", { x1: x(i), y1: 26, x2: x(i), y2: height - 4, class: "lifeline" }));
  });
  events.forEach((e, row) => {
    const y = TOP + row * ROW;
    const from = lane(e.from ?? OUTSIDE);
    const to = lane(e.to);
    const g = svg("g", { class: "message", "data-type": e.type, "data-to": e.to, "data-from": e.from ?? OUTSIDE });
    g.append(svg("text", { x: 4, y: y + 4, class: "time" }, clockMs(e.t)));
    if (from === to) {
      g.append(svg("path", { d: `M${x(from)},${y - 6} h24 v12 h-22`, class: "edge", "marker-end": "url(#seq-arrow)" }));
      g.append(svg("text", { x: x(from) + 30, y: y + 4, class: "label" }, e.type));
    } else {
      g.append(svg("line", { x1: x(from), y1: y, x2: x(to), y2: y, class: "edge", "marker-end": "url(#seq-arrow)" }));
      g.append(svg("text", { x: (x(from) + x(to)) / 2, y: y - 4, class: "label", "text-anchor": "middle" }, e.type));
    }
    g.append(svg("title", {}, `${clockMs(e.t)} ${e.from ?? "outside"} → ${e.to}: ${e.type}${e.data === undefined ? "" : ` ${JSON.stringify(e.data).slice(0, 300)}`}`));
    root.append(g);
  });
  return root;
}
