// Alarms (GET /v1/admin/alarms) and projections health (GET /v1/admin/projections: lag,
// data age, rebuild progress, parked keys, dead-letter topics), refreshed while shown.

import { get } from './api.js';
import { $, h, fill, when, ago } from './dom.js';

const REFRESH_MS = 5000;

class Polled {
  constructor(load) {
    this.load = load;
    this.timer = null;
  }

  async show() {
    this.hide();
    const tick = async () => {
      await this.load().catch((err) => console.warn(err));
      this.timer = setTimeout(tick, REFRESH_MS);
    };
    await tick();
  }

  hide() {
    clearTimeout(this.timer);
    this.timer = null;
  }
}

export const alarmsView = new Polled(async () => {
  const { items } = await get('/v1/admin/alarms');
  $('alarms-summary').textContent = items.length
    ? `${items.length} device(s) with open alarms.`
    : 'No open alarms.';
  fill($('alarms-list'), items.map((a) => h('tr', {},
    h('td', {}, a.vehicle_id ? h('a', { href: `#/vehicle/${a.vehicle_id}` }, a.qr_code || a.vehicle_id.slice(0, 8)) : 'unregistered'),
    h('td', {}, a.device_id),
    h('td', {}, a.alarms.join(', ')),
    h('td', {}, a.battery_pct === null ? '—' : `${a.battery_pct} %`),
    h('td', {}, a.online ? 'yes' : 'no'),
    h('td', {}, `${when(a.last_report_received_at)} (${ago(a.last_report_received_at)})`),
  )));
});

export const projectionsView = new Polled(async () => {
  const health = await get('/v1/admin/projections');
  fill($('projections-list'), health.items.map((p) => h('tr', { class: p.state },
    h('td', {}, p.projection),
    h('td', {}, String(p.version)),
    h('td', {}, p.state),
    h('td', {}, String(p.lag_records)),
    h('td', {}, p.data_age_ms === null ? '—' : `${p.data_age_ms} ms`),
    h('td', {},
      h('progress', { max: 1, value: p.progress, 'aria-label': `${p.projection} v${p.version} progress` }),
      ` ${(p.progress * 100).toFixed(1)} %`),
    h('td', {}, String(p.parked_keys)),
  )));
  const dlq = health.dead_letters;
  fill($('dlq-list'), dlq
    ? dlq.map((d) => h('tr', { class: d.records ? 'warn' : undefined }, h('td', {}, d.topic), h('td', {}, String(d.records))))
    : h('tr', {}, h('td', { colspan: 2, class: 'muted' }, 'The broker did not answer.')));
});
