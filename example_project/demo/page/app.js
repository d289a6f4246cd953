// The durin demo's page: plain DOM code, no framework, no build step.
//
// Everything it shows comes from the public JSON API, with the token of a login. Every
// string the server sends (user agent, key name, client name, error text) goes into the
// page as text (textContent), never as HTML, so none of it can run as code.
"use strict";

const AUTH = "/api/auth/";

// The token lives in sessionStorage: it belongs to this tab (a duplicated tab copies it), a
// reload keeps it, and it stays live until "Log out" revokes it on the server or it
// expires. Closing the tab does not revoke it, and browsers may keep sessionStorage on disk
// to restore the tab: on a shared computer, log out. Any script of this origin could read
// it: that is why the page runs no script but this file (its Content-Security-Policy) and
// never inserts server text as HTML.
const TOKEN_KEY = "durin-demo-token";

const $ = (id) => document.getElementById(id);

/** A refused request: the message is durin's own (detail or field errors). */
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The action needs a password confirmed more recently (durin's RecentlyAuthenticated). */
class ReauthNeeded extends Error {
  constructor(maxAge) {
    super("Recent authentication required.");
    this.maxAge = maxAge;
  }
}

/** The token was refused: it is forgotten and the login form is back. */
class LoggedOut extends Error {}

/** The answer is for an earlier login (the token changed since it was asked): dropped. */
class Stale extends Error {}

let pending = null; // {control, action} to run again once the password is confirmed

// Which login the page shows: bumped at every change of the token, so an answer that
// arrives after Log out or another login touches nothing (call() drops it).
let epoch = 0;

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function keepToken(value) {
  epoch += 1;
  sessionStorage.setItem(TOKEN_KEY, value);
}

function forgetToken() {
  epoch += 1;
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Everything durin says in an error body, as one sentence per field. */
function errorText(data, status) {
  if (data && typeof data === "object") {
    const parts = [];
    for (const [field, value] of Object.entries(data)) {
      const text = Array.isArray(value)
        ? value.join(" ")
        : typeof value === "string"
          ? value
          : JSON.stringify(value);
      const general = field === "detail" || field === "non_field_errors";
      parts.push(general ? text : `${field}: ${text}`);
    }
    if (parts.length) return parts.join(" ");
  }
  return `The server answered ${status}.`;
}

/** ``max_age`` of a recent-authentication challenge, in seconds (or null). */
function challengeMaxAge(challenge) {
  const match = /max_age=(\d+)/.exec(challenge);
  return match ? Number(match[1]) : null;
}

/**
 * One JSON request to the API, with the token (if any) as ``Authorization: Token ...``.
 * Cookies are never sent (credentials "omit"): the token alone says who is calling, so a
 * session cookie from the admin cannot act for this page. Answers the body of a 2xx; throws
 * Stale, whatever the answer, if the token changed while it was on its way.
 */
async function call(method, path, body) {
  const asked = epoch;
  const held = token();
  const headers = { Accept: "application/json" };
  if (held) headers.Authorization = `Token ${held}`;
  const init = { method, headers, credentials: "omit", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response = null;
  try {
    response = await fetch(path, init);
  } catch {
    // No answer: said below, unless the page moved on meanwhile.
  }
  let data = null;
  if (response && response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  // Logged out or in again since: this answer (even a 401 refusing the token it sent) is
  // about a token the page no longer holds, so it must not touch the page or the new token.
  if (epoch !== asked || token() !== held) throw new Stale();
  if (!response) throw new ApiError(0, "The server did not answer. Is the demo still running?");
  if (response.ok) return data;
  if (response.status === 401 && held) {
    const challenge = response.headers.get("WWW-Authenticate") || "";
    if (challenge.includes('error="insufficient_user_authentication"')) {
      throw new ReauthNeeded(challengeMaxAge(challenge));
    }
    // Refused: this token is no good any more, so it is never sent again.
    forgetToken();
    showLogin();
    say(`You are logged out: ${errorText(data, 401)} Log in again.`, "error");
    throw new LoggedOut();
  }
  throw new ApiError(response.status, errorText(data, response.status));
}

/** Puts a message in the status region, which screen readers announce. */
function say(text, kind = "ok") {
  const status = $("status");
  status.textContent = text;
  status.className = `status ${kind}`;
}

/**
 * Runs an action from a button (or a form's submit button); any refusal ends in the status
 * region. While the action runs the button is busy and a second press does nothing: a double
 * click makes one request, not two keys or two sessions. The button stays focusable.
 */
async function run(control, action) {
  if (control.getAttribute("aria-busy") === "true") return;
  control.setAttribute("aria-busy", "true");
  control.setAttribute("aria-disabled", "true");
  try {
    await action();
  } catch (error) {
    if (error instanceof ReauthNeeded) {
      askPassword(control, action, error.maxAge);
    } else if (!(error instanceof LoggedOut || error instanceof Stale)) {
      say(error.message, "error");
    }
  } finally {
    control.removeAttribute("aria-busy");
    control.removeAttribute("aria-disabled");
  }
}

function askPassword(control, action, maxAge) {
  pending = { control, action };
  const recent = maxAge === null ? "recently" : `in the last ${maxAge} seconds`;
  $("reauth-why").textContent =
    `This needs a password you confirmed ${recent}. Confirm it and it will be done.`;
  $("reauth").classList.add("attention");
  say("Confirm your password to go on.", "error");
  $("reauth-password").focus();
}

function dateText(value, missing) {
  if (!value) return missing;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
  return td;
}

function button(text, label, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  element.setAttribute("aria-label", label);
  element.addEventListener("click", () => run(element, onClick));
  return element;
}

function emptyRow(body, columns, text) {
  const row = body.insertRow();
  const td = cell(row, text);
  td.colSpan = columns;
}

function showLogin() {
  pending = null;
  hideNewKey();
  $("account").hidden = true;
  $("login").hidden = false;
  $("sessions-body").replaceChildren();
  $("keys-body").replaceChildren();
  $("who").textContent = "";
}

function showAccount() {
  $("login").hidden = true;
  $("account").hidden = false;
}

async function load() {
  const [me, sessions, keys] = await Promise.all([
    call("GET", "/api/hello/"),
    call("GET", `${AUTH}sessions/`),
    call("GET", `${AUTH}keys/`),
  ]);
  $("who").textContent = `Logged in as ${me.hello} through the client ${me.client}.`;
  renderSessions(sessions);
  renderKeys(keys);
}

function renderSessions(sessions) {
  const body = $("sessions-body");
  body.replaceChildren();
  for (const session of sessions) {
    const row = body.insertRow();
    cell(row, session.client);
    cell(row, session.ip_address || "unknown");
    cell(row, session.user_agent || "none sent");
    cell(row, dateText(session.created, "unknown"));
    cell(row, dateText(session.last_used, "not yet"));
    cell(row, dateText(session.expiry, "never"));
    const last = cell(row, "");
    if (session.is_current) {
      row.classList.add("current");
      const mark = document.createElement("strong");
      mark.textContent = "This session (current)";
      last.append(mark);
    } else {
      const label = `End the ${session.client} session from ${session.ip_address || "an unknown address"}`;
      last.append(button("End session", label, () => endSession(session)));
    }
  }
  if (!sessions.length) emptyRow(body, 7, "No sessions.");
}

function scopesText(scopes) {
  if (scopes === null || scopes === undefined) return "all (unrestricted)";
  return scopes.length ? scopes.join(", ") : "none";
}

function renderKeys(keys) {
  const body = $("keys-body");
  body.replaceChildren();
  for (const key of keys) {
    const row = body.insertRow();
    cell(row, key.name);
    cell(row, scopesText(key.scopes));
    const hint = document.createElement("code");
    hint.textContent = key.hint;
    cell(row, "").append(hint);
    cell(row, dateText(key.created, "unknown"));
    cell(row, dateText(key.expiry, "never"));
    cell(row, dateText(key.last_used, "not yet"));
    const actions = cell(row, "");
    actions.className = "actions";
    actions.append(
      button("Roll", `Roll the key ${key.name}`, () => rollKey(key)),
      button("Delete", `Delete the key ${key.name}`, () => deleteKey(key)),
    );
  }
  if (!keys.length) emptyRow(body, 7, "No API keys yet.");
}

async function loadScopes() {
  const scopes = await call("GET", "/api/scopes/");
  const box = $("scopes");
  box.replaceChildren();
  scopes.forEach((scope, index) => {
    const line = document.createElement("div");
    line.className = "scope";
    const input = document.createElement("input");
    input.type = "checkbox";
    input.id = `scope-${index}`;
    input.value = scope.name;
    input.setAttribute("aria-describedby", `scope-${index}-about`);
    const label = document.createElement("label");
    label.htmlFor = input.id;
    label.textContent = scope.name;
    const about = document.createElement("span");
    about.id = `scope-${index}-about`;
    about.className = "help";
    about.textContent = scope.description;
    line.append(input, label, about);
    box.append(line);
  });
}

function showNewKey(key, done) {
  $("new-key-heading").textContent = `Your new key "${key.name}"`;
  $("new-key-value").value = key.token;
  $("new-key").hidden = false;
  say(`${done} Copy it now: it will not be shown again.`);
  $("new-key-value").focus();
  $("new-key-value").select();
}

function hideNewKey() {
  $("new-key").hidden = true;
  $("new-key-value").value = "";
}

async function copyKey() {
  const field = $("new-key-value");
  const shown = epoch;
  try {
    await navigator.clipboard.writeText(field.value);
    if (epoch !== shown) return; // logged out meanwhile: the status line is not ours
  } catch {
    // No clipboard API (an insecure origin) or no permission: the older way.
    field.focus();
    field.select();
    if (!document.execCommand("copy")) {
      say("Copying failed: the key is selected, copy it with your keyboard.", "error");
      return;
    }
  }
  say("The key is on your clipboard.");
}

/** Whole seconds as a number, or the text as typed for durin to refuse with its message. */
function seconds(text) {
  return /^\d+$/.test(text) ? Number(text) : text;
}

async function logIn(form) {
  forgetToken(); // a login never sends an earlier token
  const body = {
    username: form.username.value,
    password: form.password.value,
    client: form.client.value.trim(),
  };
  const data = await call("POST", `${AUTH}login/`, body);
  form.password.value = "";
  keepToken(data.token);
  showAccount();
  await Promise.all([load(), loadScopes()]);
  say(`Logged in through the client ${body.client}.`);
  $("who-heading").focus();
}

async function logOut() {
  hideNewKey();
  try {
    await call("POST", `${AUTH}logout/`);
  } catch (error) {
    if (error instanceof LoggedOut) return;
    throw error;
  }
  forgetToken();
  showLogin();
  say("Logged out. This token is revoked.");
  $("login-username").focus();
}

async function endSession(session) {
  hideNewKey();
  await call("DELETE", `${AUTH}sessions/${encodeURIComponent(session.id)}`);
  await load();
  say(`Ended the ${session.client} session.`);
}

async function logOutOthers() {
  hideNewKey();
  const data = await call("POST", `${AUTH}logoutothers/`);
  await load();
  const count = data.revoked;
  say(`Ended ${count} other session${count === 1 ? "" : "s"}. This one goes on.`);
}

async function confirmPassword(form) {
  await call("POST", `${AUTH}reauthenticate/`, { password: form.password.value });
  form.password.value = "";
  $("reauth").classList.remove("attention");
  say("Password confirmed.");
  const next = pending;
  pending = null;
  // Run again through its own button, busy meanwhile: a click there makes no second request.
  if (next) await run(next.control, next.action);
}

async function createKey(form) {
  hideNewKey();
  const body = { name: $("key-name").value };
  const scopes = [...$("scopes").querySelectorAll("input:checked")].map((box) => box.value);
  if (scopes.length) body.scopes = scopes; // none ticked: an unrestricted key
  const lifetime = $("key-lifetime").value.trim();
  if (lifetime) body.expires_in = seconds(lifetime);
  const key = await call("POST", `${AUTH}keys/`, body);
  form.reset();
  await load();
  showNewKey(key, `Created the key "${key.name}".`);
}

async function rollKey(key) {
  hideNewKey();
  const grace = seconds($("roll-grace").value.trim() || "0");
  const rolled = await call("POST", `${AUTH}keys/${encodeURIComponent(key.id)}/roll/`, { grace });
  await load();
  showNewKey(rolled, `Rolled the key "${key.name}".`);
}

async function deleteKey(key) {
  if (!window.confirm(`Delete the key "${key.name}"? Programs using it are refused at once.`)) {
    return;
  }
  hideNewKey();
  await call("DELETE", `${AUTH}keys/${encodeURIComponent(key.id)}`);
  await load();
  say(`Deleted the key "${key.name}".`);
}

/** A form's action, run by its submit button's rule (Enter in a field included). */
function onSubmit(id, action) {
  const form = $(id);
  const submit = form.querySelector('button[type="submit"]');
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run(submit, () => action(form));
  });
}

function onClick(id, action) {
  const control = $(id);
  control.addEventListener("click", () => run(control, action));
}

function start() {
  onSubmit("login-form", logIn);
  onSubmit("reauth-form", confirmPassword);
  onSubmit("key-form", createKey);
  onClick("reload", async () => {
    await load();
    say("Up to date.");
  });
  onClick("logout", logOut);
  onClick("logout-others", logOutOthers);
  onClick("new-key-copy", copyKey);
  $("new-key-dismiss").addEventListener("click", () => {
    hideNewKey();
    say("The key is hidden; it cannot be shown again.");
    $("keys-heading").focus();
  });
  if (token()) {
    showAccount();
    run($("reload"), () => Promise.all([load(), loadScopes()]));
  } else {
    showLogin();
  }
}

start();
