// The console's entry point: login, then views chosen by the URL hash — #/map,
// #/vehicle/<id>, #/trace/<id>, #/alarms, #/projections — over one fleet store fed by the
// live stream.

import { loggedIn, logout, onSession } from './api.js';
import { $, h, fill, ago } from './dom.js';
import { Fleet, STATUSES, STATUS, statusOf, nameOf } from './fleet.js';
import { FleetMap } from './map.js';
import { setupLogin } from './login.js';
import { openStream } from './stream.js';
import { VehicleView } from './vehicle.js';
import { TraceView } from './trace.js';
import { alarmsView, projectionsView } from './ops.js';

const VIEWS = ['login', 'map', 'vehicle', 'trace', 'alarms', 'projections'];

const fleet = new Fleet();
const map = new FleetMap($('map'), fleet, (id) => { location.hash = `#/vehicle/${id}`; });
const vehicle = new VehicleView(fleet);
const trace = new TraceView();
let stream = null;

function showView(name) {
  for (const v of VIEWS) $(`${v}-view`).hidden = v !== name;
  for (const a of document.querySelectorAll('#nav a')) {
    const current = a.getAttribute('href') === `#/${name === 'vehicle' ? 'map' : name}`;
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (name !== 'alarms') alarmsView.hide();
  if (name !== 'projections') projectionsView.hide();
}

async function route() {
  if (!loggedIn()) {
    showView('login');
    $('login-email').focus();
    return;
  }
  const [, view = 'map', arg] = location.hash.split('/');
  const id = arg ? decodeURIComponent(arg) : null;
  switch (view) {
    case 'vehicle':
      showView('vehicle');
      map.select(id);
      await vehicle.show(id);
      break;
    case 'trace':
      showView('trace');
      await trace.show(id);
      break;
    case 'alarms':
      showView('alarms');
      await alarmsView.show();
      break;
    case 'projections':
      showView('projections');
      await projectionsView.show();
      break;
    default:
      showView('map');
      map.draw();
  }
}

function renderLegend() {
  const counts = fleet.counts();
  fill($('legend'), STATUSES.map((s) => {
    const swatch = h('span', { class: `swatch ${s.key}`, 'aria-hidden': 'true' });
    return h('li', {}, swatch, `${s.label}: ${counts[s.key]}`);
  }));
}

function renderList() {
  const filter = $('fleet-filter').value.trim().toLowerCase();
  const vs = [...fleet.vehicles.values()]
    .filter((v) => !filter || [v.qr_code, v.device_id, v.vehicle_id, STATUS[statusOf(v)].label]
      .some((t) => t && t.toLowerCase().includes(filter)))
    .sort((a, b) => nameOf(a).localeCompare(nameOf(b), undefined, { numeric: true }));
  fill($('fleet-list'), vs.map((v) => {
    const s = STATUS[statusOf(v)];
    const battery = v.battery_pct === null ? '—' : `${v.battery_pct} %`;
    return h('li', {}, h('a', {
      href: `#/vehicle/${v.vehicle_id}`,
      class: 'vehicle-item',
      dataset: { vehicleId: v.vehicle_id, status: s.key },
    },
    h('span', { class: `swatch ${s.key}`, 'aria-hidden': 'true' }),
    h('span', { class: 'name' }, nameOf(v)),
    h('span', { class: 'meta' }, `${s.label} · ${battery}`)));
  }));
  $('map-age').textContent = fleet.loadedAt ? `${fleet.vehicles.size} vehicles · updated ${ago(new Date(fleet.loadedAt))}` : '';
}

function setLive(state) {
  const el = $('live');
  el.textContent = state === 'live' ? 'live' : state;
  el.className = `live is-${state}`;
}

function start() {
  $('nav').hidden = false;
  $('logout').hidden = false;
  $('live').hidden = false;
  fleet.start();
  map.startZones();
  stream = openStream((event) => {
    fleet.onEvent(event);
    vehicle.onEvent(event);
  }, setLive);
}

function stop() {
  $('nav').hidden = true;
  $('logout').hidden = true;
  $('live').hidden = true;
  fleet.stop();
  map.stopZones();
  if (stream) stream.close();
  stream = null;
}

fleet.subscribe(() => {
  renderLegend();
  renderList();
  map.draw();
});
$('fleet-filter').addEventListener('input', renderList);
$('zoom-in').addEventListener('click', () => map.zoom(1.25));
$('zoom-out').addEventListener('click', () => map.zoom(0.8));
$('zoom-fit').addEventListener('click', () => map.fit());
$('logout').addEventListener('click', () => logout());
onSession((on) => {
  if (!on) {
    stop();
    route();
  }
});
setupLogin(() => {
  start();
  if (!location.hash || location.hash === '#/') location.hash = '#/map';
  route();
});
window.addEventListener('hashchange', () => {
  route();
  $('main').focus({ preventScroll: true });
});

renderLegend();
if (loggedIn()) start();
route();
