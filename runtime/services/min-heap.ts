// A binary min-heap of values by a numeric key (a due time): the timing wheel's second ahead
// and the transaction checks' wake-ups. Keys and values live in two parallel arrays, so a push
// allocates nothing per entry but the value itself.
export class MinHeap<T> {
  private readonly keys: number[] = [];
  private readonly values: T[] = [];

  get size(): number {
    return this.keys.length;
  }

  /** The smallest key; undefined when empty. */
  peekKey(): number | undefined {
    return this.keys[0];
  }

  /** The value with the smallest key; undefined when empty. */
  peek(): T | undefined {
    return this.values[0];
  }

  push(key: number, value: T): void {
    const k = this.keys;
    const v = this.values;
    let i = k.length;
    k.push(key);
    v.push(value);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (k[p] <= key) break;
      k[i] = k[p];
      v[i] = v[p];
      i = p;
    }
    k[i] = key;
    v[i] = value;
  }

  /** Removes and returns the value with the smallest key; undefined when empty. */
  pop(): T | undefined {
    const k = this.keys;
    const v = this.values;
    if (k.length === 0) return undefined;
    const top = v[0];
    const lastKey = k.pop()!;
    const lastValue = v.pop()!;
    if (k.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= k.length) break;
      const r = l + 1;
      const c = r < k.length && k[r] < k[l] ? r : l;
      if (k[c] >= lastKey) break;
      k[i] = k[c];
      v[i] = v[c];
      i = c;
    }
    k[i] = lastKey;
    v[i] = lastValue;
    return top;
  }
}
