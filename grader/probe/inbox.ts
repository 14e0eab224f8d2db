// What a long-lived connection received and nobody has taken yet (WebSocket messages, SSE events), with
// waiters for what has not come: `next(match, ms)` takes the oldest unread item `match` accepts, or waits.
export class Inbox<T> {
  private items: T[] = [];
  private waiters: { match: (item: T) => boolean; resolve: (item: T) => void }[] = [];

  /** A new item: handed to the first waiter that wants it, else kept. */
  push(item: T): void {
    const w = this.waiters.find((x) => x.match(item));
    if (w) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(item);
    } else this.items.push(item);
  }

  /** The oldest unread item `match` accepts (or the next to arrive within `timeoutMs`), or undefined. */
  next(match: (item: T) => boolean, timeoutMs: number): Promise<T | undefined> {
    const i = this.items.findIndex(match);
    if (i >= 0) return Promise.resolve(this.items.splice(i, 1)[0]);
    return new Promise((resolve) => {
      const w = {
        match,
        resolve: (item: T) => {
          clearTimeout(timer);
          resolve(item);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Takes every unread item `match` accepts (default: all), oldest first. */
  take(match: (item: T) => boolean = () => true): T[] {
    const taken = this.items.filter(match);
    this.items = this.items.filter((x) => !match(x));
    return taken;
  }

  /** Unread items, oldest first (not taken). */
  peek(): readonly T[] {
    return this.items;
  }

  clear(): void {
    this.items = [];
    this.waiters = [];
  }
}
