/**
 * tRPC's http links create an AbortController for every call; the mini program runtime may not
 * have one. This installs a minimal one (signal.aborted / reason / abort events) only where it is
 * missing. Nothing in the client needs more of the DOM's AbortSignal than this.
 */
type Listener = (event: { type: 'abort' }) => void;

class MiniAbortSignal {
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

class MiniAbortController {
  readonly signal = new MiniAbortSignal();
  abort(reason?: unknown) {
    const error = new Error('This operation was aborted');
    error.name = 'AbortError';
    this.signal.dispatchAbort(reason === undefined ? error : reason);
  }
}

/** globalThis is ES2020; older mini program runtimes may lack it. */
function globalObject(): Record<string, unknown> {
  if (typeof globalThis === 'object') return globalThis as never;
  // Outside strict mode a plain function's `this` is the global object.
  return (function (this: unknown) {
    return this;
  })() as never;
}

export function installAbortControllerIfMissing(target: Record<string, unknown> = globalObject()): void {
  if (typeof target.AbortController !== 'function') {
    target.AbortController = MiniAbortController;
    target.AbortSignal = MiniAbortSignal;
  }
}

export { MiniAbortController };
