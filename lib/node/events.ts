// The daemon's event stream: every state change a user may act on, as one
// JSON object per line on the control socket (`tandem events`). Recent
// events are kept so a late subscriber sees what just happened.
export interface TandemEvent {
  time: string; // ISO 8601
  type: string; // e.g. "vrrp.transition", "vip.added", "notify.failed"
  [key: string]: unknown;
}

export type EventListener = (ev: TandemEvent) => void;

export class EventBus {
  private readonly listeners = new Set<EventListener>();
  private readonly recent: TandemEvent[] = [];

  constructor(private readonly keep = 200) {}

  emit(type: string, fields: Record<string, unknown> = {}): TandemEvent {
    const ev: TandemEvent = { time: new Date().toISOString(), type, ...fields };
    this.recent.push(ev);
    if (this.recent.length > this.keep) this.recent.shift();
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch {
        // A broken subscriber must not stop the others or the daemon.
      }
    }
    return ev;
  }

  subscribe(l: EventListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  history(): TandemEvent[] {
    return [...this.recent];
  }
}
