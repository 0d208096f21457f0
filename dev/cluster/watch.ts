/**
 * Watch streams: newline-delimited JSON events `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":...}`,
 * as client-go, client-node and kstatus (helm's `--wait`) expect. A watch from a resourceVersion
 * replays the changes after it from the store's history, or answers 410 Expired when they were
 * dropped; `sendInitialEvents=true` (client-go's watch-list) ends its initial ADDED events with
 * the `k8s.io/initial-events-end` bookmark.
 */
import type { ServerResponse } from 'node:http';
import { present, type Target } from './objects.js';
import { apiVersionOf } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { failure } from './status.js';
import { typeKey, type KubeObject, type Store, type StoredEvent } from './store.js';

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  timeoutSeconds?: number;
  allowWatchBookmarks?: boolean;
  sendInitialEvents?: boolean;
  /** How often an idle watch gets a BOOKMARK when bookmarks are allowed. */
  bookmarkIntervalMs?: number;
}

/** Starts streaming; returns a function that ends the stream (used when the server stops). */
export function serveWatch(options: { store: Store; target: Target; response: ServerResponse; watch: WatchOptions; onEnd?: () => void }): () => void {
  const { store, target, response, watch } = options;
  const { type, version } = target;
  // Both parse eagerly so a bad selector fails before the 200 is sent.
  const labels = parseLabelSelector(watch.labelSelector);
  const fields = parseFieldSelector(watch.fieldSelector);
  const key = typeKey(type);
  const matches = (o: KubeObject | undefined) =>
    o !== undefined && (!type.namespaced || !target.namespace || o.metadata.namespace === target.namespace) && labels(o.metadata.labels ?? {}) && fields(o);

  response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  response.flushHeaders();

  let ended = false;
  const send = (eventType: string, object: unknown) => {
    if (!ended && !response.destroyed) response.write(`${JSON.stringify({ type: eventType, object })}\n`);
  };
  const bookmark = (annotations?: Record<string, string>) =>
    send('BOOKMARK', {
      kind: type.kind,
      apiVersion: apiVersionOf(type.group, version),
      metadata: { resourceVersion: String(store.resourceVersion), ...(annotations ? { annotations } : {}) },
    });

  const deliver = (event: StoredEvent) => {
    if (event.typeKey !== key) return;
    const now = matches(event.object);
    if (event.type === 'MODIFIED') {
      const before = matches(event.previous);
      if (now && before) send('MODIFIED', present(type, version, event.object));
      else if (now) send('ADDED', present(type, version, event.object));
      else if (before) send('DELETED', present(type, version, event.object));
    } else if (now) send(event.type, present(type, version, event.object));
  };

  const rv = watch.resourceVersion;
  const initial = watch.sendInitialEvents === true || !rv || rv === '0';
  if (initial) {
    for (const object of store.list(type, target.namespace)) if (matches(object)) send('ADDED', present(type, version, object));
    if (watch.sendInitialEvents && watch.allowWatchBookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
  } else {
    const replay = /^\d+$/.test(rv) ? store.eventsSince(Number(rv)) : undefined;
    if (replay === undefined) {
      const message = /^\d+$/.test(rv) ? `too old resource version: ${rv} (${store.oldestWatchable})` : `invalid resource version: ${rv}`;
      send('ERROR', failure({ code: 410, message, reason: 'Expired' }));
      response.end();
      options.onEnd?.();
      return () => {};
    }
    for (const event of replay) deliver(event);
  }

  const unsubscribe = store.subscribe(deliver);
  const timers: NodeJS.Timeout[] = [];
  const end = () => {
    if (ended) return;
    ended = true;
    unsubscribe();
    for (const t of timers) clearTimeout(t);
    if (!response.destroyed) response.end();
    options.onEnd?.();
  };
  if (watch.timeoutSeconds && watch.timeoutSeconds > 0) timers.push(setTimeout(end, watch.timeoutSeconds * 1000));
  if (watch.allowWatchBookmarks) {
    const interval = setInterval(() => bookmark(), watch.bookmarkIntervalMs ?? 5000);
    timers.push(interval);
  }
  response.on('close', end);
  return end;
}
