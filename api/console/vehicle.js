// One vehicle: its telemetry, battery history, recent commands with their outcomes and
// recent frames (each traceable), and the operator's commands. A command sent here is
// followed live: its decision arrives on the stream (command_accepted / _rejected), and
// its final outcome by long-polling GET /v1/commands/{id}?wait=.

import { get, post, ApiFailure } from './api.js';
import { $, h, fill, when, ago, short, announce, uuid, debounce } from './dom.js';
import { STATUS, statusOf, nameOf } from './fleet.js';
import { batteryChart } from './chart.js';

const FRAMES_SHOWN = 10;
const WAIT = '20s';

export class VehicleView {
  constructor(fleet) {
    this.fleet = fleet;
    this.id = null;
    this.tracked = new Map(); // command id -> outcome <li>
    this.reload = debounce(() => this.load(), 300);
    for (const button of document.querySelectorAll('#vehicle-view [data-action]')) {
      button.addEventListener('click', () => this.act(button.dataset.action, button.textContent));
    }
  }

  async show(id) {
    if (this.id !== id) {
      this.id = id;
      this.tracked.clear();
      fill($('outcomes'));
      fill($('vehicle-facts'));
      fill($('vehicle-commands'));
      fill($('vehicle-frames'));
      fill($('battery-chart'));
      $('vehicle-title').textContent = 'Vehicle';
    }
    await this.load();
  }

  async load() {
    const id = this.id;
    if (!id) return;
    try {
      const [v, history] = await Promise.all([
        get(`/v1/admin/vehicles/${encodeURIComponent(id)}`),
        get(`/v1/admin/vehicles/${encodeURIComponent(id)}/telemetry?minutes=60&limit=2000`),
      ]);
      if (id !== this.id) return;
      this.render(v, history.items);
    } catch (err) {
      fill($('vehicle-facts'), h('p', { class: 'error', role: 'alert' }, `Could not load the vehicle: ${err.message}`));
    }
  }

  render(v, records) {
    const status = STATUS[statusOf(v)];
    $('vehicle-title').textContent = `Vehicle ${nameOf(v)}`;
    const pos = v.position ? `${v.position.lat.toFixed(6)}, ${v.position.lon.toFixed(6)}` : '—';
    const facts = [
      ['Status', h('span', { class: `badge ${statusOf(v)}` }, status.label)],
      ['State', v.state],
      ['Online', v.online ? `yes, since ${when(v.online_since)}` : 'no'],
      ['Battery', v.battery_pct === null ? '—' : `${v.battery_pct} %`],
      ['Lock', v.lock_state || '—'],
      ['Position', pos],
      ['Speed', v.speed_kmh === null ? '—' : `${v.speed_kmh} km/h`],
      ['Odometer', v.odometer_m === null ? '—' : `${(v.odometer_m / 1000).toFixed(1)} km`],
      ['Alarms', v.alarms.length ? v.alarms.join(', ') : 'none'],
      ['Last report', `${when(v.last_report_received_at)} (${ago(v.last_report_received_at)})`],
      ['Device', `${v.device_id || '—'} (${v.protocol || '?'})`],
      ['Model', v.model || '—'],
      ['QR code', v.qr_code || '—'],
      ['Vehicle id', v.vehicle_id],
    ];
    fill($('vehicle-facts'), facts.flatMap(([k, val]) => [h('dt', {}, k), h('dd', {}, val)]));
    fill($('battery-chart'), batteryChart(records));
    fill($('vehicle-commands'), v.recent_commands.map((c) => h('tr', {},
      h('td', {}, c.kind),
      h('td', {}, c.actor_role),
      h('td', {}, when(c.requested_at)),
      h('td', {}, h('span', { class: `outcome ${c.status}` }, c.status), c.code ? ` ${c.code}` : '', c.message ? ` — ${c.message}` : ''),
      h('td', {}, traceLink(c.command_id, `Trace command ${c.kind}`)),
    )));
    const frames = records.slice(-FRAMES_SHOWN).reverse();
    fill($('vehicle-frames'), frames.length ? frames.map((r) => h('tr', {},
      h('td', {}, when(r.device_time)),
      h('td', {}, r.battery_pct === null ? '—' : `${r.battery_pct} %`),
      h('td', {}, r.lock_state || '—'),
      h('td', {}, `${r.speed_kmh} km/h`),
      h('td', {}, traceLink(r.frame_id, `Trace frame of ${when(r.device_time)}`)),
    )) : h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No frames in the last hour.')));
  }

  /** A live event: reload when it is about this vehicle; settle tracked decisions. */
  onEvent(event) {
    const d = event.data || {};
    const li = this.tracked.get(d.correlation_id);
    if (li && !li.dataset.done) {
      if (event.event === 'command_accepted') this.mark(li, 'accepted', 'decided: accepted');
      if (event.event === 'command_rejected') this.mark(li, 'rejected', (d.data && d.data.message) || 'rejected');
    }
    if (this.id && d.vehicle_id === this.id) this.reload();
  }

  async act(action, label) {
    const id = this.id;
    let body = {};
    if (action === 'out-of-service') {
      const reason = await confirmOutOfService();
      if (reason === null) return;
      body = { reason };
    }
    const li = h('li', { class: 'pending' },
      h('span', { class: 'what' }, label),
      ' — ',
      h('span', { class: 'status' }, 'sending'),
      ' ',
      h('span', { class: 'detail muted' }),
      ' ',
      h('span', { class: 'trace-slot' }),
    );
    $('outcomes').prepend(li);
    const started = performance.now();
    let accepted;
    try {
      accepted = await post(`/v1/admin/vehicles/${encodeURIComponent(id)}/${action}`, body, {
        headers: { 'Idempotency-Key': uuid() },
      });
    } catch (err) {
      this.mark(li, 'failed', err instanceof ApiFailure ? `${err.code}: ${err.message}` : err.message, true);
      return;
    }
    const commandId = accepted.command_id;
    li.dataset.commandId = commandId;
    this.tracked.set(commandId, li);
    li.querySelector('.trace-slot').append(traceLink(commandId, `Trace ${label}`));
    this.mark(li, 'pending', `command ${short(commandId)}`);
    announce(`${label} sent`);
    for (;;) {
      let view;
      try {
        view = await get(`/v1/commands/${commandId}?wait=${WAIT}`);
      } catch (err) {
        this.mark(li, 'unknown', err.message, true);
        return;
      }
      if (view.done) {
        const secs = ((performance.now() - started) / 1000).toFixed(1);
        const reason = view.reason ? `${view.reason.code}: ${view.reason.message}` : '';
        this.mark(li, view.status, `${reason} (${secs} s)`.trim(), true);
        announce(`${label}: ${view.status}`);
        this.reload();
        return;
      }
      if (view.status !== 'pending') this.mark(li, view.status, `decided, waiting for the device`);
    }
  }

  mark(li, status, detail, done = false) {
    li.className = status;
    li.querySelector('.status').textContent = status;
    li.querySelector('.detail').textContent = detail;
    if (done) li.dataset.done = 'true';
  }
}

/** A link to the trace view of `id`. */
export function traceLink(id, label) {
  return h('a', { href: `#/trace/${encodeURIComponent(id)}`, class: 'trace-link', 'aria-label': label }, 'Trace');
}

/** Ask for a reason; null when cancelled. */
function confirmOutOfService() {
  const dialog = $('confirm');
  const input = $('confirm-reason');
  input.value = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      const ok = dialog.returnValue === 'ok' && input.value.trim();
      resolve(ok ? input.value.trim() : null);
    }, { once: true });
    dialog.showModal();
    input.focus();
  });
}
