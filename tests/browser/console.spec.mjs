// The operator console in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core; no browser is downloaded): log in (with TOTP when a secret is given),
// see the simulated fleet on the Leaflet map with its zones and clusters, open a vehicle,
// send "locate", see its outcome
// arrive live, open the command's trace and see command → downlink → device reply.
// Fails if the page requests anything from another origin. Screenshots go to target/.
//
// Usage: CONSOLE_URL=http://127.0.0.1:8080 CONSOLE_EMAIL=… CONSOLE_PASSWORD=… \
//   [CONSOLE_TOTP_SECRET=BASE32] [CONSOLE_VEHICLES=N] [CONSOLE_ZONES=N] node tests/browser/console.spec.mjs
// (or the same as --url= --email= --password= --totp-secret= --vehicles= arguments).

import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = Object.fromEntries(process.argv.slice(2)
  .filter((a) => a.startsWith('--') && a.includes('='))
  .map((a) => [a.slice(2, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
const opt = (name, env, fallback) => args[name] ?? process.env[env] ?? fallback;

const base = new URL(opt('url', 'CONSOLE_URL', 'http://127.0.0.1:8080'));
const email = opt('email', 'CONSOLE_EMAIL');
const password = opt('password', 'CONSOLE_PASSWORD');
const totpSecret = opt('totp-secret', 'CONSOLE_TOTP_SECRET', '');
const vehicles = Number(opt('vehicles', 'CONSOLE_VEHICLES', '1'));
const zones = Number(process.env.CONSOLE_ZONES || 0);
const outDir = resolve(ROOT, opt('out', 'CONSOLE_SCREENSHOT_DIR', 'target'));
const chromiumPath = opt('chromium', 'CHROMIUM', '/usr/bin/chromium');
if (!email || !password) {
  console.error('console.spec: CONSOLE_EMAIL and CONSOLE_PASSWORD are required');
  process.exit(2);
}

/** RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret. */
function totp(secretB32, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secretB32.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${c}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, '0');
}

const started = Date.now();
const step = (text) => console.log(`[console.spec +${((Date.now() - started) / 1000).toFixed(1)}s] ${text}`);

const foreign = [];
const pageErrors = [];
const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = null;
const page = await (await browser.newContext({ viewport: { width: 1366, height: 860 } })).newPage();
try {
  page.on('request', (req) => {
    const url = req.url();
    if (url.startsWith('data:') || url.startsWith('blob:')) return;
    if (new URL(url).origin !== base.origin) foreign.push(url);
  });
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error') console.log(`[browser console] ${msg.text()}`);
  });
  mkdirSync(outDir, { recursive: true });

  step(`opening ${base.origin}/console/`);
  await page.goto(new URL('/console/', base).href);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  if (totpSecret) {
    await page.getByLabel('One-time code (TOTP)').waitFor({ state: 'visible', timeout: 15_000 });
    step('TOTP asked for');
    await page.getByLabel('One-time code (TOTP)').fill(totp(totpSecret));
    await page.getByRole('button', { name: 'Log in' }).click();
  }
  await page.locator('#map-view').waitFor({ state: 'visible', timeout: 15_000 });
  step('logged in');

  // The fleet on the map: a marker per vehicle, and the list beside it.
  await page.waitForFunction((n) => Number(document.getElementById('map').dataset.markers || 0) >= n,
    vehicles, { timeout: 60_000 });
  await page.waitForFunction((n) => document.querySelectorAll('#fleet-list .vehicle-item').length >= n,
    vehicles, { timeout: 10_000 });
  await page.locator('#live.is-live').waitFor({ timeout: 15_000 });
  const markers = await page.locator('#map').getAttribute('data-markers');
  step(`map shows ${markers} markers, the stream is live`);

  // The map library (Leaflet, served from this origin), the zones drawn on it, and the
  // markers clustered once zoomed out.
  await page.locator('#map.leaflet-container .leaflet-marker-icon').first().waitFor({ timeout: 15_000 });
  if (zones) {
    await page.waitForFunction((n) => Number(document.getElementById('map').dataset.zones || 0) >= n,
      zones, { timeout: 30_000 });
    await page.locator('#map path.leaflet-interactive').first().waitFor({ timeout: 10_000 });
    step(`${zones} zone(s) drawn`);
  }
  await page.screenshot({ path: join(outDir, 'console-map.png') });
  for (let i = 0; i < 6 && !(await page.locator('#map .marker-cluster').count()); i += 1) {
    await page.locator('#zoom-out').click();
    await page.waitForTimeout(400);
  }
  await page.locator('#map .marker-cluster').first().waitFor({ timeout: 10_000 });
  step('markers cluster when zoomed out');
  await page.screenshot({ path: join(outDir, 'console-map-clustered.png') });
  await page.locator('#zoom-fit').click();

  // A vehicle that can be located: online.
  const item = page.locator('#fleet-list .vehicle-item:not([data-status=offline])').first();
  await item.waitFor({ timeout: 30_000 });
  const name = (await item.locator('.name').textContent()).trim();
  await item.click();
  await page.locator('#vehicle-view').waitFor({ state: 'visible' });
  await page.getByRole('heading', { name: `Vehicle ${name}` }).waitFor({ timeout: 15_000 });
  await page.locator('#battery-chart svg, #battery-chart p').first().waitFor({ timeout: 15_000 });
  step(`vehicle ${name} open`);

  await page.getByRole('button', { name: 'Locate' }).click();
  const outcome = page.locator('#outcomes li[data-command-id]').first();
  await outcome.waitFor({ timeout: 15_000 });
  const commandId = await outcome.getAttribute('data-command-id');
  step(`locate sent: command ${commandId}`);
  await page.waitForFunction(() => {
    const s = document.querySelector('#outcomes li[data-command-id] .status');
    return s && ['completed', 'failed', 'rejected'].includes(s.textContent);
  }, null, { timeout: 45_000 });
  const status = await outcome.locator('.status').textContent();
  const detail = await outcome.locator('.detail').textContent();
  if (status !== 'completed') throw new Error(`locate ended ${status}: ${detail}`);
  step(`locate completed live ${detail}`);
  await page.screenshot({ path: join(outDir, 'console-vehicle.png'), fullPage: true });

  // Its trace: command → downlink → device reply, nested.
  await outcome.getByRole('link', { name: /Trace/ }).click();
  await page.locator('#trace-view').waitFor({ state: 'visible' });
  const chain = '#trace-tree li[data-topic="app.commands.v1"] li[data-topic="scooter.downlink.v1"] li[data-topic="scooter.replies.v1"]';
  const deadline = Date.now() + 30_000;
  while (!(await page.locator(chain).count())) {
    if (Date.now() > deadline) {
      const topics = await page.locator('#trace-tree li').evaluateAll((els) => els.map((e) => e.dataset.topic));
      throw new Error(`no command → downlink → reply chain in the trace; topics: ${topics.join(', ')}`);
    }
    await page.waitForTimeout(1000);
    await page.getByRole('button', { name: 'Reload' }).click();
  }
  await page.waitForFunction(() => !document.getElementById('trace-summary').textContent.startsWith('Loading'));
  const summary = await page.locator('#trace-summary').textContent();
  step(`trace: ${summary}`);
  await page.screenshot({ path: join(outDir, 'console-trace.png'), fullPage: true });

  // Out of service, confirmed in the dialog: the map turns the marker live (the stream's
  // vehicle_state_changed refreshes that vehicle).
  await page.goBack();
  await page.getByRole('heading', { name: `Vehicle ${name}` }).waitFor({ timeout: 15_000 });
  await page.getByRole('button', { name: 'Set out of service' }).click();
  await page.getByLabel('Reason').fill('browser test: brake check');
  await page.locator('#confirm-ok').click();
  await page.waitForFunction(() => {
    const s = document.querySelector('#outcomes li[data-command-id] .status');
    return s && s.closest('li').querySelector('.what').textContent === 'Set out of service'
      && ['accepted', 'completed', 'failed', 'rejected'].includes(s.textContent)
      && s.closest('li').dataset.done;
  }, null, { timeout: 30_000 });
  const oos = await page.locator('#outcomes li[data-command-id] .status').first().textContent();
  if (oos !== 'accepted') throw new Error(`out of service ended ${oos}`);
  await page.getByRole('link', { name: 'Fleet map' }).first().click();
  await page.locator('#legend li', { hasText: 'Out of service: 1' }).waitFor({ timeout: 15_000 });
  await page.locator(`#fleet-list .vehicle-item[data-status=out_of_service]`).waitFor({ timeout: 5_000 });
  step(`${name} out of service, shown live on the map`);
  await page.screenshot({ path: join(outDir, 'console-screenshot.png') });

  // The other views answer.
  await page.getByRole('link', { name: 'Projections' }).click();
  await page.locator('#projections-list tr').first().waitFor({ timeout: 15_000 });
  await page.getByRole('link', { name: 'Alarms' }).click();
  await page.locator('#alarms-summary:not(:empty)').waitFor({ timeout: 15_000 });
  step('alarms and projections shown');
} catch (err) {
  failed = err;
  await page.screenshot({ path: join(outDir, 'console-failure.png'), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}

if (pageErrors.length) {
  console.error(`console.spec: errors in the page:\n${pageErrors.join('\n')}`);
  failed = failed || new Error('page errors');
}
if (foreign.length) {
  console.error(`console.spec: requests to other hosts:\n${foreign.join('\n')}`);
  failed = failed || new Error('requests to other hosts');
}
if (failed) {
  console.error(`console.spec: FAILED: ${failed.stack || failed}`);
  process.exit(1);
}
step(`passed; screenshots in ${outDir}`);
