// The trace of any frame, command or event id (GET /v1/admin/trace/{id}, what
// `fleetlog trace --json` prints): the chain as a tree of native <details> (keyboard
// accessible), each event with its topic, partition and offset, time since the root
// (also drawn as a timeline bar) and the read-model rows it touched.

import { get } from './api.js';
import { $, h, fill, when } from './dom.js';

export class TraceView {
  constructor() {
    this.id = null;
    $('trace-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const id = $('trace-id').value.trim();
      if (id) location.hash = `#/trace/${encodeURIComponent(id)}`;
    });
    $('trace-reload').addEventListener('click', () => this.load());
  }

  async show(id) {
    this.id = id || null;
    $('trace-id').value = this.id || '';
    if (!this.id) {
      fill($('trace-tree'));
      $('trace-summary').textContent = 'Paste a frame, command or event id.';
      $('trace-id').focus();
      return;
    }
    await this.load();
  }

  async load() {
    if (!this.id) return;
    const id = this.id;
    $('trace-summary').textContent = 'Loading…';
    try {
      const trace = await get(`/v1/admin/trace/${encodeURIComponent(id)}`);
      if (id !== this.id) return;
      const span = Math.max(1, ...trace.roots.flatMap(allNodes).map((n) => n.since_root_ms || 0));
      $('trace-summary').textContent = `${trace.events} events` +
        (trace.correlation_id ? `, correlation ${trace.correlation_id}` : '') +
        (trace.truncated ? ' (truncated)' : '') + `, ${span} ms from first to last.`;
      fill($('trace-tree'), h('ul', { class: 'tree' }, trace.roots.map((n) => node(n, span, id))));
    } catch (err) {
      fill($('trace-tree'));
      $('trace-summary').textContent = `No trace: ${err.message}`;
    }
  }
}

function allNodes(n) {
  return [n, ...(n.children || []).flatMap(allNodes)];
}

function node(n, span, wanted) {
  const since = n.since_root_ms === null || n.since_root_ms === undefined ? null : n.since_root_ms;
  const bar = h('span', { class: 'bar', 'aria-hidden': 'true' });
  bar.style.marginLeft = `${((since || 0) / span) * 100}%`;
  const title = h('summary', {},
    h('span', { class: 'etype' }, n.event_type || '(record)'),
    ' ',
    h('span', { class: 'topic' }, n.topic),
    h('span', { class: 'muted' }, ` p${n.partition} @${n.offset}`),
    ' ',
    h('span', { class: 'since' }, since === null ? '' : `+${since} ms`),
    h('span', { class: 'timeline', 'aria-hidden': 'true' }, bar),
  );
  const facts = [
    ['event id', n.event_id],
    ['time', when(n.time)],
    ['log time', when(n.log_time)],
    ['source', n.source],
    ['subject', n.subject],
    ['key', n.key],
    ['causation', n.causation_id],
    ['dead letter', n.dlq_record ? `${n.dlq_record}: ${n.dlq_error || ''} (${n.dlq_processor || ''})` : null],
  ].filter(([, v]) => v !== null && v !== undefined && v !== '—');
  const rows = (n.read_models || []).map((r) => h('details', { class: 'row' },
    h('summary', {}, `${r.table} ${r.key}`),
    h('pre', {}, JSON.stringify(r.row, null, 2)),
  ));
  const body = h('div', { class: 'node-body' },
    h('dl', { class: 'facts small' }, facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))])),
    rows.length ? h('div', { class: 'rows' }, h('strong', {}, `Read-model rows (${rows.length})`), rows) : null,
  );
  const children = n.children && n.children.length
    ? h('ul', {}, n.children.map((c) => node(c, span, wanted)))
    : null;
  const hit = n.event_id === wanted ? 'hit' : undefined;
  return h('li', { class: hit, dataset: { topic: n.topic } },
    h('details', { open: true }, title, body), children);
}
