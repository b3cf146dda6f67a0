/**
 * tRPC's http links create an AbortController for every call; a mini program has none. This is
 * the minimal one they need (signal.aborted / reason / abort events). client/bundleGlobals.ts
 * binds the bundle's `AbortController` to it where the runtime has none; nothing is installed on
 * the mini program's global object.
 */
type Listener = (event: { type: 'abort' }) => void;

export class MiniAbortSignal {
  aborted = false;
  reason: unknown = undefined;
  onabort: Listener | null = null;
  private listeners: Listener[] = [];

  addEventListener(type: string, listener: Listener, options?: { once?: boolean }) {
    if (type !== 'abort') return;
    const wrapped: Listener = options?.once
      ? (e) => {
          this.removeEventListener('abort', wrapped);
          listener(e);
        }
      : listener;
    this.listeners.push(wrapped);
  }

  removeEventListener(type: string, listener: Listener) {
    if (type === 'abort') this.listeners = this.listeners.filter((l) => l !== listener);
  }

  throwIfAborted() {
    if (this.aborted) throw this.reason;
  }

  /** @internal */
  dispatchAbort(reason: unknown) {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const event = { type: 'abort' as const };
    this.onabort?.(event);
    for (const l of this.listeners.slice()) l(event);
  }
}

export class MiniAbortController {
  readonly signal = new MiniAbortSignal();
  abort(reason?: unknown) {
    const error = new Error('This operation was aborted');
    error.name = 'AbortError';
    this.signal.dispatchAbort(reason === undefined ? error : reason);
  }
}
