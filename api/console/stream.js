// Live fleet events from GET /v1/stream. EventSource cannot send an Authorization
// header, so the stream is read with fetch() and a ReadableStream reader (no token in
// any URL); a dropped connection is resumed with Last-Event-ID after a short pause.

import { authorization, renew, ApiFailure } from './api.js';

const RETRY_MS = 2000;

/** Parse one SSE block into {id, event, data}; null for comments. */
function parse(block) {
  let id = null;
  let event = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (!data.length) return null;
  try {
    return { id, event, data: JSON.parse(data.join('\n')) };
  } catch {
    return null;
  }
}

/**
 * Read the stream until `close()`: `onEvent({id, event, data})` for each event,
 * `onState('connecting'|'live'|'reconnecting')` as the connection changes.
 */
export function openStream(onEvent, onState) {
  let lastId = null;
  let stopped = false;
  let controller = null;

  async function once() {
    controller = new AbortController();
    const headers = { Accept: 'text/event-stream', Authorization: await authorization() };
    if (lastId) headers['Last-Event-ID'] = lastId;
    const resp = await fetch('/v1/stream', {
      headers, signal: controller.signal, cache: 'no-store', credentials: 'omit',
    });
    if (resp.status === 401) {
      await renew();
      return;
    }
    if (!resp.ok) throw new ApiFailure(resp.status, null);
    onState('live');
    const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = parse(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (!event) continue;
        if (event.id) lastId = event.id;
        try {
          onEvent(event);
        } catch (err) {
          console.error('stream handler failed', err);
        }
      }
    }
  }

  (async () => {
    onState('connecting');
    while (!stopped) {
      try {
        await once();
      } catch (err) {
        if (stopped) return;
        if (err instanceof ApiFailure && err.status === 401) return;
      }
      if (stopped) return;
      onState('reconnecting');
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  })();

  return {
    close() {
      stopped = true;
      if (controller) controller.abort();
    },
  };
}
