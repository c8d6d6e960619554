// The fleet on a coordinate canvas: no tiles, so it works offline. Longitude and latitude
// are projected equirectangularly (longitude scaled by the cosine of the centre latitude),
// fitted to the fleet's bounding box, with a graticule for orientation. Drag or arrow
// keys pan, the wheel or +/- zoom, 0 fits the fleet again; a click picks the nearest
// marker. Every vehicle with a position is a marker in its status colour.

import { STATUS, statusOf, nameOf } from './fleet.js';

const MARKER_RADIUS = 7;
const PICK_RADIUS = 14;

export class FleetMap {
  constructor(canvas, fleet, onPick) {
    this.canvas = canvas;
    this.fleet = fleet;
    this.onPick = onPick;
    this.center = null; // {x, y} in projected degrees
    this.scale = 1; // pixels per projected degree
    this.cosLat = 1;
    this.selected = null;
    this.fitted = false;
    this.drag = null;
    this.listen();
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  project(lat, lon) {
    return { x: lon * this.cosLat, y: -lat };
  }

  toScreen(p) {
    const w = this.canvas.clientWidth;
    const hgt = this.canvas.clientHeight;
    return {
      x: w / 2 + (p.x - this.center.x) * this.scale,
      y: hgt / 2 + (p.y - this.center.y) * this.scale,
    };
  }

  positioned() {
    return [...this.fleet.vehicles.values()].filter((v) => v.position);
  }

  /** Centre and zoom on every vehicle with a position. */
  fit() {
    const vs = this.positioned();
    if (!vs.length) return;
    const lats = vs.map((v) => v.position.lat);
    const lons = vs.map((v) => v.position.lon);
    const midLat = (Math.min(...lats) + Math.max(...lats)) / 2;
    this.cosLat = Math.cos((midLat * Math.PI) / 180) || 1;
    const xs = lons.map((l) => l * this.cosLat);
    const ys = lats.map((l) => -l);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    this.center = { x: (x0 + x1) / 2, y: (y0 + y1) / 2 };
    const w = Math.max(this.canvas.clientWidth - 120, 50);
    const hgt = Math.max(this.canvas.clientHeight - 120, 50);
    const span = Math.max(x1 - x0, y1 - y0, 0.002);
    this.scale = Math.min(w / Math.max(x1 - x0, span / 4), hgt / Math.max(y1 - y0, span / 4));
    this.fitted = true;
    this.draw();
  }

  zoom(factor, at) {
    if (!this.center) return;
    const w = this.canvas.clientWidth;
    const hgt = this.canvas.clientHeight;
    const px = at ? at.x : w / 2;
    const py = at ? at.y : hgt / 2;
    // Keep the point under the cursor where it is.
    const wx = this.center.x + (px - w / 2) / this.scale;
    const wy = this.center.y + (py - hgt / 2) / this.scale;
    this.scale = Math.min(Math.max(this.scale * factor, 10), 5e7);
    this.center = { x: wx - (px - w / 2) / this.scale, y: wy - (py - hgt / 2) / this.scale };
    this.draw();
  }

  pan(dx, dy) {
    if (!this.center) return;
    this.center = { x: this.center.x - dx / this.scale, y: this.center.y - dy / this.scale };
    this.draw();
  }

  select(vehicleId) {
    this.selected = vehicleId;
    this.draw();
  }

  listen() {
    const c = this.canvas;
    c.addEventListener('pointerdown', (e) => {
      c.setPointerCapture(e.pointerId);
      this.drag = { x: e.clientX, y: e.clientY, moved: 0 };
    });
    c.addEventListener('pointermove', (e) => {
      if (!this.drag) return;
      const dx = e.clientX - this.drag.x;
      const dy = e.clientY - this.drag.y;
      this.drag.moved += Math.abs(dx) + Math.abs(dy);
      this.drag.x = e.clientX;
      this.drag.y = e.clientY;
      this.pan(dx, dy);
    });
    c.addEventListener('pointerup', (e) => {
      const click = this.drag && this.drag.moved < 5;
      this.drag = null;
      if (click) this.pick(e);
    });
    c.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = c.getBoundingClientRect();
      this.zoom(e.deltaY < 0 ? 1.25 : 0.8, { x: e.clientX - r.left, y: e.clientY - r.top });
    }, { passive: false });
    c.addEventListener('keydown', (e) => {
      const step = 60;
      const keys = {
        ArrowLeft: () => this.pan(step, 0),
        ArrowRight: () => this.pan(-step, 0),
        ArrowUp: () => this.pan(0, step),
        ArrowDown: () => this.pan(0, -step),
        '+': () => this.zoom(1.25),
        '=': () => this.zoom(1.25),
        '-': () => this.zoom(0.8),
        0: () => this.fit(),
      };
      const fn = keys[e.key];
      if (fn) {
        e.preventDefault();
        fn();
      }
    });
  }

  pick(e) {
    const r = this.canvas.getBoundingClientRect();
    const at = { x: e.clientX - r.left, y: e.clientY - r.top };
    let best = null;
    let bestD = PICK_RADIUS;
    for (const v of this.positioned()) {
      const s = this.toScreen(this.project(v.position.lat, v.position.lon));
      const d = Math.hypot(s.x - at.x, s.y - at.y);
      if (d <= bestD) {
        best = v;
        bestD = d;
      }
    }
    if (best) this.onPick(best.vehicle_id);
  }

  /** Lines every `step` degrees, with a step that gives ~4–10 lines across. */
  graticule(ctx, w, hgt) {
    const spanDeg = w / this.scale / this.cosLat;
    const steps = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];
    const step = steps.find((s) => spanDeg / s <= 10) || 10;
    const decimals = Math.max(0, Math.ceil(-Math.log10(step)));
    ctx.strokeStyle = '#d0d7de';
    ctx.fillStyle = '#57606a';
    ctx.lineWidth = 1;
    ctx.font = '11px system-ui, sans-serif';
    const left = (this.center.x - w / 2 / this.scale) / this.cosLat;
    const right = (this.center.x + w / 2 / this.scale) / this.cosLat;
    for (let lon = Math.ceil(left / step) * step; lon <= right; lon += step) {
      const x = this.toScreen({ x: lon * this.cosLat, y: 0 }).x;
      ctx.beginPath();
      ctx.moveTo(x, 0);
      ctx.lineTo(x, hgt);
      ctx.stroke();
      ctx.fillText(`${lon.toFixed(decimals)}°`, x + 3, hgt - 4);
    }
    const top = -(this.center.y - hgt / 2 / this.scale);
    const bottom = -(this.center.y + hgt / 2 / this.scale);
    for (let lat = Math.ceil(bottom / step) * step; lat <= top; lat += step) {
      const y = this.toScreen({ x: 0, y: -lat }).y;
      ctx.beginPath();
      ctx.moveTo(0, y);
      ctx.lineTo(w, y);
      ctx.stroke();
      ctx.fillText(`${lat.toFixed(decimals)}°`, 3, y - 3);
    }
  }

  draw() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth;
    const hgt = c.clientHeight;
    if (!w || !hgt) return;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(hgt * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(hgt * dpr);
    }
    if (!this.fitted) {
      this.fit();
      if (!this.fitted) {
        this.emptyMessage(w, hgt, dpr);
        return;
      }
    }
    const ctx = c.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = '#f6f8fa';
    ctx.fillRect(0, 0, w, hgt);
    this.graticule(ctx, w, hgt);
    const vs = this.positioned();
    let drawn = 0;
    // The selected one last, so it is on top.
    vs.sort((a, b) => (a.vehicle_id === this.selected) - (b.vehicle_id === this.selected));
    for (const v of vs) {
      const s = this.toScreen(this.project(v.position.lat, v.position.lon));
      if (s.x < -20 || s.y < -20 || s.x > w + 20 || s.y > hgt + 20) continue;
      drawn += 1;
      ctx.beginPath();
      ctx.arc(s.x, s.y, MARKER_RADIUS, 0, 2 * Math.PI);
      ctx.fillStyle = STATUS[statusOf(v)].color;
      ctx.fill();
      ctx.lineWidth = 2;
      ctx.strokeStyle = '#ffffff';
      ctx.stroke();
      if (v.vehicle_id === this.selected) {
        ctx.beginPath();
        ctx.arc(s.x, s.y, MARKER_RADIUS + 5, 0, 2 * Math.PI);
        ctx.lineWidth = 3;
        ctx.strokeStyle = '#0969da';
        ctx.stroke();
        ctx.fillStyle = '#24292f';
        ctx.font = 'bold 12px system-ui, sans-serif';
        ctx.fillText(nameOf(v), s.x + 12, s.y - 10);
      }
    }
    c.dataset.markers = String(drawn);
    c.setAttribute('aria-label', `Map of the fleet: ${drawn} of ${this.fleet.vehicles.size} vehicles shown. Use the vehicle list to open one.`);
  }

  emptyMessage(w, hgt, dpr) {
    const ctx = this.canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = '#f6f8fa';
    ctx.fillRect(0, 0, w, hgt);
    ctx.fillStyle = '#57606a';
    ctx.font = '14px system-ui, sans-serif';
    ctx.fillText('No vehicle has reported a position yet.', 16, 28);
    this.canvas.dataset.markers = '0';
  }
}
