// A table of live rows that people can sort (click a heading) and filter (type in the box).
// The heading and the filter box are built once; each update redraws only the body, so the
// sort, the filter and the focus survive the frames.
import { h } from "./dom.ts";

export interface Column<T> {
  key: string;
  label: string;
  /** What sorting and filtering compare. */
  value(row: T): number | string;
  /** What the cell shows (default: the value). */
  render?(row: T): Node | string;
  numeric?: boolean;
  title?: string;
}

export interface TableOptions<T> {
  id: string;
  columns: Column<T>[];
  rowKey(row: T): string;
  sort?: { key: string; descending: boolean };
  filterLabel?: string;
  empty?: string;
  onRowClick?(row: T): void;
  rowClass?(row: T): string;
}

export class DataTable<T> {
  readonly el: HTMLElement;
  private readonly body: HTMLTableSectionElement;
  private readonly filter: HTMLInputElement;
  private readonly heads = new Map<string, HTMLElement>();
  private sortKey: string;
  private descending: boolean;
  private rows: T[] = [];

  constructor(private readonly options: TableOptions<T>) {
    this.sortKey = options.sort?.key ?? options.columns[0].key;
    this.descending = options.sort?.descending ?? false;
    this.filter = h("input", { type: "search", class: "filter", placeholder: options.filterLabel ?? "filter", "aria-label": options.filterLabel ?? "filter", "data-filter": options.id }) as HTMLInputElement;
    this.filter.addEventListener("input", () => this.draw());
    const head = h("tr", {}, ...options.columns.map((c) => {
      const th = h("th", { scope: "col", class: c.numeric ? "num" : "", title: c.title, "data-col": c.key, tabindex: 0 }, c.label);
      const sort = () => {
        if (this.sortKey === c.key) this.descending = !this.descending;
        else [this.sortKey, this.descending] = [c.key, !!c.numeric];
        this.draw();
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", (e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), sort()));
      this.heads.set(c.key, th);
      return th;
    }));
    this.body = h("tbody") as HTMLTableSectionElement;
    this.el = h("div", { class: "data-table", id: options.id },
      h("div", { class: "table-tools" }, this.filter),
      h("div", { class: "scroll-x" }, h("table", { class: "grid" }, h("thead", {}, head), this.body)));
  }

  update(rows: T[]): void {
    this.rows = rows;
    this.draw();
  }

  private draw(): void {
    const { columns, rowKey, onRowClick, rowClass } = this.options;
    const col = columns.find((c) => c.key === this.sortKey) ?? columns[0];
    for (const [key, th] of this.heads) th.setAttribute("aria-sort", key === col.key ? (this.descending ? "descending" : "ascending") : "none");
    const needle = this.filter.value.trim().toLowerCase();
    const shown = needle ? this.rows.filter((r) => columns.some((c) => String(c.value(r)).toLowerCase().includes(needle))) : [...this.rows];
    shown.sort((a, b) => {
      const x = col.value(a);
      const y = col.value(b);
      const d = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
      return this.descending ? -d : d;
    });
    if (shown.length === 0) {
      this.body.replaceChildren(h("tr", { class: "empty-row" }, h("td", { colspan: columns.length, class: "empty" }, needle ? `nothing matches “${needle}”` : this.options.empty ?? "none")));
      return;
    }
    this.body.replaceChildren(...shown.map((r) => {
      const tr = h("tr", { "data-key": rowKey(r), class: rowClass?.(r) ?? "" }, ...columns.map((c) => h("td", { class: c.numeric ? "num" : "", "data-col": c.key }, c.render ? c.render(r) : String(c.value(r)))));
      if (onRowClick) {
        tr.classList.add("clickable");
        tr.addEventListener("click", () => onRowClick(r));
      }
      return tr;
    }));
  }
}
