// The fleet on a Leaflet map (vendor/leaflet.js, embedded in the binary like the rest of
// the console). The base layer is the raster tiles of FLEETLOG_CONSOLE__TILE_URL when it
// is set (config.json), else an offline grid drawn on canvas tiles, so nothing is fetched
// from another host. The zones (GET /v1/admin/zones) are drawn as polygons; every vehicle
// with a position is a marker in its status colour, clustered by Leaflet.markercluster
// when many share the view. Drag or arrow keys pan, the wheel or +/- zoom, 0 fits the
// fleet again; a click on a marker opens the vehicle.

/* global L */
import { get } from './api.js';
import { statusOf, nameOf } from './fleet.js';

const SEOUL = [37.5665, 126.978];
const ZONE_STYLE = {
  SERVICE_AREA: { color: '#1f6feb', weight: 2, fillOpacity: 0.03, dashArray: '6 4' },
  NO_PARKING: { color: '#cf222e', weight: 2, fillOpacity: 0.15 },
  SLOW: { color: '#bf8700', weight: 2, fillOpacity: 0.1 },
};
const ZONES_REFRESH_MS = 60_000;

/** Canvas tiles with a graticule and the tile's corner in degrees: a base layer offline. */
const OfflineGrid = L.GridLayer.extend({
  createTile(coords) {
    const tile = document.createElement('canvas');
    const size = this.getTileSize();
    tile.width = size.x;
    tile.height = size.y;
    const ctx = tile.getContext('2d');
    ctx.fillStyle = '#f6f8fa';
    ctx.fillRect(0, 0, size.x, size.y);
    ctx.strokeStyle = '#d0d7de';
    ctx.strokeRect(0.5, 0.5, size.x, size.y);
    const nw = this._map.unproject(coords.scaleBy(size), coords.z);
    ctx.fillStyle = '#57606a';
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillText(`${nw.lat.toFixed(3)}°, ${nw.lng.toFixed(3)}°`, 4, 14);
    return tile;
  },
});

export class FleetMap {
  constructor(el, fleet, onPick) {
    this.el = el;
    this.fleet = fleet;
    this.onPick = onPick;
    this.selected = null;
    this.fitted = false;
    this.markers = new Map(); // vehicle id → { marker, key }
    this.map = L.map(el, { zoomControl: false, keyboard: true, minZoom: 3, maxZoom: 19 })
      .setView(SEOUL, 12);
    this.base = new OfflineGrid({ attribution: 'offline grid' }).addTo(this.map);
    this.zones = L.layerGroup().addTo(this.map);
    this.cluster = L.markerClusterGroup({
      chunkedLoading: true,
      showCoverageOnHover: false,
      maxClusterRadius: 45,
      disableClusteringAtZoom: 16,
    }).addTo(this.map);
    this.zonesTimer = null;
    el.addEventListener('keydown', (e) => {
      if (e.key === '0') {
        e.preventDefault();
        this.fit();
      }
    });
    new ResizeObserver(() => this.map.invalidateSize()).observe(el);
    this.configure();
  }

  /** The base layer of config.json: tiles when a URL is set, else the offline grid. */
  async configure() {
    try {
      const res = await fetch('config.json', { cache: 'no-store' });
      const config = await res.json();
      if (!config.tile_url) return;
      this.map.removeLayer(this.base);
      this.base = L.tileLayer(config.tile_url, {
        attribution: config.tile_attribution || '',
        maxZoom: 19,
      }).addTo(this.map);
      this.el.dataset.base = 'tiles';
    } catch (err) {
      console.warn('console config not loaded; keeping the offline grid', err);
    }
  }

  /** The zones, now and every minute while logged in. */
  startZones() {
    this.stopZones();
    const load = async () => {
      try {
        const page = await get('/v1/admin/zones');
        this.drawZones(page.items || []);
      } catch (err) {
        console.warn('zones not loaded', err);
      }
    };
    load();
    this.zonesTimer = setInterval(load, ZONES_REFRESH_MS);
  }

  stopZones() {
    if (this.zonesTimer) clearInterval(this.zonesTimer);
    this.zonesTimer = null;
  }

  drawZones(items) {
    this.zones.clearLayers();
    for (const z of items) {
      const rings = (z.rings || []).map((ring) => ring.map((p) => [p.lat, p.lon]));
      if (!rings.length) continue;
      const style = ZONE_STYLE[z.kind] || ZONE_STYLE.SLOW;
      L.polygon(rings, { ...style, interactive: true })
        .bindTooltip(`${z.name} (${z.kind.toLowerCase().replace('_', ' ')})`)
        .addTo(this.zones);
    }
    this.el.dataset.zones = String(items.length);
  }

  positioned() {
    return [...this.fleet.vehicles.values()].filter((v) => v.position);
  }

  /** Centre and zoom on every vehicle with a position. */
  fit() {
    const vs = this.positioned();
    if (!vs.length) return;
    const bounds = L.latLngBounds(vs.map((v) => [v.position.lat, v.position.lon]));
    this.map.fitBounds(bounds.pad(0.1), { maxZoom: 16 });
    this.fitted = true;
  }

  zoom(factor) {
    if (factor > 1) this.map.zoomIn();
    else this.map.zoomOut();
  }

  select(vehicleId) {
    this.selected = vehicleId;
    this.draw();
  }

  icon(v, status) {
    const selected = v.vehicle_id === this.selected ? ' selected' : '';
    return L.divIcon({
      className: `vmarker ${status}${selected}`,
      iconSize: [16, 16],
      html: '',
    });
  }

  /** Markers in step with the fleet: added, moved, recoloured, removed. */
  draw() {
    this.map.invalidateSize();
    const seen = new Set();
    const added = [];
    for (const v of this.positioned()) {
      seen.add(v.vehicle_id);
      const status = statusOf(v);
      const key = `${status}${v.vehicle_id === this.selected ? '*' : ''}`;
      const at = [v.position.lat, v.position.lon];
      const known = this.markers.get(v.vehicle_id);
      if (!known) {
        const marker = L.marker(at, { icon: this.icon(v, status), title: nameOf(v), keyboard: false });
        marker.on('click', () => this.onPick(v.vehicle_id));
        this.markers.set(v.vehicle_id, { marker, key });
        added.push(marker);
        continue;
      }
      const ll = known.marker.getLatLng();
      if (ll.lat !== at[0] || ll.lng !== at[1]) known.marker.setLatLng(at);
      if (known.key !== key) {
        known.marker.setIcon(this.icon(v, status));
        known.key = key;
      }
    }
    if (added.length) this.cluster.addLayers(added);
    for (const [id, { marker }] of this.markers) {
      if (!seen.has(id)) {
        this.cluster.removeLayer(marker);
        this.markers.delete(id);
      }
    }
    if (!this.fitted && this.markers.size) this.fit();
    this.cluster.refreshClusters();
    const n = this.markers.size;
    this.el.dataset.markers = String(n);
    this.el.setAttribute('aria-label', `Map of the fleet: ${n} of ${this.fleet.vehicles.size} vehicles with a position. Use the vehicle list to open one.`);
  }
}
