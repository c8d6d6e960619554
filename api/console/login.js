// The login form: email and password, then a TOTP code when the account needs one.

import { login, ApiFailure } from './api.js';
import { $ } from './dom.js';

/** Wire the form; `onDone(me)` after a successful login. */
export function setupLogin(onDone) {
  const form = $('login-form');
  const error = $('login-error');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const email = $('login-email').value.trim();
    const password = $('login-password').value;
    const totp = $('login-totp').value.trim();
    if (!email || !password) {
      error.textContent = 'Enter your email and password.';
      return;
    }
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const me = await login(email, password, totp || undefined);
      form.reset();
      $('login-totp-row').hidden = true;
      onDone(me);
    } catch (err) {
      if (err instanceof ApiFailure && (err.code === 'totp_required' || err.code === 'invalid_totp')) {
        $('login-totp-row').hidden = false;
        $('login-totp').value = '';
        $('login-totp').focus();
        error.textContent = err.code === 'totp_required'
          ? 'This account needs a one-time code from your authenticator app.'
          : 'That code is wrong or was already used; enter the next one.';
      } else {
        error.textContent = err.message;
      }
    } finally {
      button.disabled = false;
    }
  });
}
