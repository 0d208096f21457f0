// Delays between retries (sibling calls, Kubernetes API calls, CAS rounds): "full jitter" (a
// uniformly random delay in [0, min(max, base * 2^attempt)]), so callers that collide do not retry
// in lockstep.

export interface BackoffOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  random?: () => number;
}

export function backoffDelay(attempt: number, { baseDelayMs, maxDelayMs, random = Math.random }: BackoffOptions): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * cap);
}

/** Resolves after ms, or rejects with the signal's reason as soon as the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
