// The fleet as the console knows it: every vehicle from GET /v1/admin/vehicles (all
// pages), refreshed every few seconds for positions and battery, and vehicle by vehicle
// as their events arrive on the live stream. Views subscribe to changes.

import { get } from './api.js';

/** Below this battery percentage a vehicle is shown as "low battery". */
export const LOW_BATTERY_PCT = 20;
const REFRESH_MS = 5000;
const PAGE = 500;

/** Display statuses, most urgent first, with their colours. */
export const STATUSES = [
  { key: 'out_of_service', label: 'Out of service', color: '#6e40c9' },
  { key: 'offline', label: 'Offline', color: '#6e7781' },
  { key: 'on_ride', label: 'On ride', color: '#1f6feb' },
  { key: 'reserved', label: 'Reserved', color: '#bf8700' },
  { key: 'low_battery', label: 'Low battery', color: '#cf222e' },
  { key: 'available', label: 'Available', color: '#1a7f37' },
];
export const STATUS = Object.fromEntries(STATUSES.map((s) => [s.key, s]));

/** The display status of a vehicle view. */
export function statusOf(v) {
  if (v.state === 'OUT_OF_SERVICE') return 'out_of_service';
  if (!v.online) return 'offline';
  if (v.state === 'IN_RIDE') return 'on_ride';
  if (v.state === 'RESERVED') return 'reserved';
  if (v.battery_pct !== null && v.battery_pct !== undefined && v.battery_pct < LOW_BATTERY_PCT) {
    return 'low_battery';
  }
  return 'available';
}

/** A vehicle's human name. */
export const nameOf = (v) => v.qr_code || v.device_id || v.vehicle_id.slice(0, 8);

export class Fleet {
  constructor() {
    this.vehicles = new Map();
    this.dataAgeMs = null;
    this.loadedAt = null;
    this.subscribers = new Set();
    this.pending = new Set();
    this.timer = null;
    this.flushTimer = null;
  }

  subscribe(fn) {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  notify(changed) {
    for (const fn of this.subscribers) fn(changed);
  }

  /** Load every page now, then every few seconds until `stop()`. */
  async start() {
    this.stop();
    const tick = async () => {
      try {
        await this.loadAll();
      } catch (err) {
        console.warn('fleet refresh failed', err);
      }
      this.timer = setTimeout(tick, REFRESH_MS);
    };
    await tick();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  async loadAll() {
    const seen = new Map();
    let cursor = null;
    do {
      const q = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const page = await get(`/v1/admin/vehicles?limit=${PAGE}${q}`);
      for (const v of page.items) seen.set(v.vehicle_id, v);
      cursor = page.next_cursor;
    } while (cursor);
    this.vehicles = seen;
    this.loadedAt = Date.now();
    this.notify(null);
  }

  /** One vehicle again (after one of its events); batched. */
  touch(vehicleId) {
    this.pending.add(vehicleId);
    clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => this.flush(), 250);
  }

  async flush() {
    const ids = [...this.pending];
    this.pending.clear();
    if (ids.length > 20) {
      await this.loadAll().catch(() => {});
      return;
    }
    await Promise.all(ids.map(async (id) => {
      try {
        const v = await get(`/v1/admin/vehicles/${encodeURIComponent(id)}`);
        delete v.recent_commands;
        this.vehicles.set(id, v);
        this.notify(id);
      } catch {
        // The next full refresh tries again.
      }
    }));
  }

  /** A live event: refresh the vehicle it is about. */
  onEvent(event) {
    const id = event.data && event.data.vehicle_id;
    if (id && /^[0-9a-f-]{36}$/i.test(id)) this.touch(id);
  }

  counts() {
    const counts = Object.fromEntries(STATUSES.map((s) => [s.key, 0]));
    for (const v of this.vehicles.values()) counts[statusOf(v)] += 1;
    return counts;
  }
}
