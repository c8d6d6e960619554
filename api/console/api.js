// The public /v1 API of the host that served the console: login (with TOTP), tokens
// refreshed before they expire, JSON requests with the Bearer header. Nothing else is
// ever contacted (the page's Content-Security-Policy enforces it too).

const KEY = 'fleetlog.console.session';
let session = load();
let refreshing = null;
const listeners = new Set();

/** An error answer of the API: `status`, `code`, `message`, `field`. */
export class ApiFailure extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || 'http_error';
    this.field = err.field;
  }
}

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}

function save(tokens) {
  session = tokens && {
    access: tokens.access_token,
    refresh: tokens.refresh_token,
    expiresAt: Date.now() + (tokens.expires_in || 900) * 1000,
  };
  if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
  else sessionStorage.removeItem(KEY);
  for (const fn of listeners) fn(!!session);
}

/** Whether there is a session. */
export const loggedIn = () => !!session;

/** Call `fn(loggedIn)` whenever the session starts or ends. */
export const onSession = (fn) => listeners.add(fn);

async function send(method, path, body, extra = {}) {
  const headers = { Accept: 'application/json', ...extra.headers };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: extra.signal,
    cache: 'no-store',
    credentials: 'omit',
  });
  const text = await resp.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!resp.ok) throw new ApiFailure(resp.status, json);
  return json;
}

/** Log in; throws an ApiFailure (`totp_required`, `invalid_totp`, …) when refused. */
export async function login(email, password, totp) {
  const body = { email, password };
  if (totp) body.totp = totp;
  save(await send('POST', '/v1/auth/login', body));
  const me = await get('/v1/me');
  if (me.role !== 'operator' && me.role !== 'admin') {
    await logout();
    throw new ApiFailure(403, { error: { code: 'forbidden', message: 'the console is for operators and admins' } });
  }
  return me;
}

/** Revoke the refresh token and forget the session. */
export async function logout() {
  const old = session;
  save(null);
  if (old) await send('POST', '/v1/auth/logout', { refresh_token: old.refresh }).catch(() => {});
}

async function refresh() {
  if (!session) throw new ApiFailure(401, { error: { code: 'missing_token', message: 'not logged in' } });
  if (!refreshing) {
    const token = session.refresh;
    refreshing = send('POST', '/v1/auth/refresh', { refresh_token: token })
      .then(save)
      .catch((err) => {
        save(null);
        throw err;
      })
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

/** `Bearer <token>`, refreshed first when it expires within a minute. */
export async function authorization() {
  if (session && session.expiresAt - Date.now() < 60_000) await refresh();
  if (!session) throw new ApiFailure(401, { error: { code: 'missing_token', message: 'not logged in' } });
  return `Bearer ${session.access}`;
}

/** Force a refresh (after a 401). */
export const renew = refresh;

/** An authenticated request; one retry after refreshing on 401. */
export async function request(method, path, body, extra = {}) {
  const attempt = async () => send(method, path, body, {
    ...extra,
    headers: { ...extra.headers, Authorization: await authorization() },
  });
  try {
    return await attempt();
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401 && session) {
      await refresh();
      return attempt();
    }
    throw err;
  }
}

export const get = (path, extra) => request('GET', path, undefined, extra);
export const post = (path, body, extra) => request('POST', path, body, extra);
