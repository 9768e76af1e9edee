// hookd's portal: the webhooks of one account, their deliveries and attempts, drawn from
// the admin API (api/openapi.yaml has every shape used here). Signed in with an account's
// token (kept in sessionStorage, sent as X-Token) or through a portal link (an HttpOnly
// cookie the browser sends by itself; then state-changing requests carry X-CSRF-Token).
//
// Everything that came from the API reaches the page through textContent or DOM
// properties, never as markup: names, URLs, payloads and response excerpts are a user's
// text. Each page polls its data every 2 s while the tab is visible and updates what it
// shows in place, so inputs, focus and scroll stay where they are.

const TOKEN_KEY = 'hookd.token';
const POLL_MS = 2000;
const PAGE_SIZE = 50;
const STATUSES = ['pending', 'in_flight', 'succeeded', 'failed', 'cancelled'];
// What the deliveries list can be filtered by: `status` of GET .../deliveries takes
// these (in_flight is shown only by a single delivery, so it is no filter).
const FILTERS = ['pending', 'succeeded', 'failed', 'cancelled'];
const METHODS = ['POST', 'PUT', 'PATCH', 'GET', 'DELETE'];

const state = {
  token: null, // an account's API token, or null for a portal session (cookie)
  caller: null, // GET /api/v1/portal-session's answer
  view: null, // the page shown now
  flash: null, // a notice for the next page
};

// ---- DOM helpers: data goes in as text or properties only ----

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null) continue;
    if (key === 'class') el.className = value;
    else if (key === 'testid') el.dataset.testid = value;
    else if (key === 'text') el.textContent = value;
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (typeof value === 'boolean') {
      // A property when the element has one (hidden, checked, disabled), else the
      // attribute's presence (novalidate).
      if (key in el) el[key] = value;
      else if (value) el.setAttribute(key, '');
    } else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// Changes an element's text only when it differs, so polling does not disturb it.
function setText(el, text) {
  const s = String(text);
  if (el.textContent !== s) el.textContent = s;
}

function setAttr(el, name, value) {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

function $(id) {
  return document.getElementById(id);
}

// ---- formatting ----

function formatTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
      `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function relativeTime(iso) {
  if (!iso) return '—';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return String(iso);
  const s = Math.round((Date.now() - t) / 1000);
  const future = s < 0;
  const a = Math.abs(s);
  let text;
  if (a < 5) return future ? 'now' : 'just now';
  if (a < 60) text = `${a} s`;
  else if (a < 3600) text = `${Math.floor(a / 60)} min`;
  else if (a < 86400) text = `${Math.floor(a / 3600)} h`;
  else text = `${Math.floor(a / 86400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}

// A <time> element showing a relative time, the full time as its tooltip.
function timeCell(el, iso) {
  setText(el, relativeTime(iso));
  setAttr(el, 'title', iso ? formatTime(iso) : '');
  if (iso) setAttr(el, 'datetime', iso);
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function percent(rate) {
  if (rate === null || rate === undefined) return '—';
  const v = Math.round(rate * 1000) / 10;
  return `${v}%`;
}

function statusClass(status) {
  return STATUSES.includes(status) ? status : 'unknown';
}

function badge(status, testid) {
  const el = h('span', { testid });
  setBadge(el, status);
  return el;
}

function setBadge(el, status) {
  const cls = `badge status-${statusClass(status)}`;
  if (el.className !== cls) el.className = cls;
  setText(el, String(status).replace('_', ' '));
}

function subscribedTypes(webhook) {
  return Object.entries(webhook.settings || {})
    .filter(([, on]) => on === true)
    .map(([type]) => type);
}

function canWrite() {
  return state.caller !== null && !state.caller.read_only;
}

// ---- the API ----

class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = Array.isArray(details) ? details : [];
  }
}

async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (state.token) headers['X-Token'] = state.token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.caller && state.caller.csrf_token) {
    headers['X-CSRF-Token'] = state.caller.csrf_token;
  }
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'unreachable', `hookd did not answer (${e.message}).`);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const e = data && data.error ? data.error : null;
    const err = new ApiError(res.status, e ? e.code : `http_${res.status}`,
      e && e.message ? e.message : `${method} ${path} answered ${res.status}.`,
      e ? e.details : []);
    if (res.status === 401 && state.caller) signedOut(err.message);
    throw err;
  }
  return data;
}

// ---- banner and notices ----

let bannerSource = null;

function showError(err, source = 'action') {
  const banner = $('banner');
  bannerSource = source;
  setText($('banner-title'), err.status ? `${err.status} ${err.code}` : 'Error');
  setText($('banner-text'), err.message || String(err));
  const list = $('banner-details');
  list.replaceChildren(...(err.details || []).map((d) =>
    h('li', {}, h('code', {}, d.field || 'body'), ' ', d.message || '')));
  banner.hidden = false;
}

function clearError(source) {
  if (source && bannerSource !== source) return;
  $('banner').hidden = true;
  bannerSource = null;
}

function showNotice(text) {
  const n = $('notice');
  setText(n, text);
  n.hidden = !text;
}

// ---- polling ----

// Runs `fn` every POLL_MS after the previous run ended, only while the tab is visible,
// never two at once; kick() runs it now (or right after the one running).
class Poller {
  constructor(fn) {
    this.fn = fn;
    this.timer = null;
    this.running = false;
    this.again = false;
    this.stopped = false;
    this.onVisibility = () => {
      if (!document.hidden) this.kick();
    };
    document.addEventListener('visibilitychange', this.onVisibility);
    this.schedule();
  }

  schedule() {
    clearTimeout(this.timer);
    if (!this.stopped) this.timer = setTimeout(() => this.tick(), POLL_MS);
  }

  async tick() {
    if (this.stopped || document.hidden) return; // visibilitychange resumes it
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      await this.fn();
    } finally {
      this.running = false;
    }
    if (this.again) {
      this.again = false;
      this.tick();
    } else {
      this.schedule();
    }
  }

  kick() {
    clearTimeout(this.timer);
    this.tick();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    document.removeEventListener('visibilitychange', this.onVisibility);
  }
}

// A page: mount() draws it, refresh() reloads its data in place; unmount() ends both.
class View {
  constructor() {
    this.alive = true;
    this.poller = null;
  }

  startPolling() {
    this.poller = new Poller(async () => {
      try {
        await this.refresh();
        if (this.alive) clearError('poll');
      } catch (e) {
        if (this.alive) showError(e, 'poll');
      }
    });
  }

  unmount() {
    this.alive = false;
    if (this.poller) this.poller.stop();
    for (const chart of this.charts || []) chart.destroy();
  }
}

// The first `want` items of a paged list, fetched again as a whole on every poll (a page
// at most 500 long), so rows added or removed meanwhile leave no gap and no duplicate
// between pages. `path(limit, after)` names a page; `key` the list in its answer.
async function fetchFirst(want, path, key, view) {
  const items = [];
  let after = null;
  let next = null;
  do {
    const page = await api('GET', path(Math.min(500, want - items.length), after));
    if (!view.alive) return null;
    items.push(...page[key]);
    next = page.next_after;
    after = next;
  } while (next !== null && items.length < want);
  return { items, more: next !== null };
}

// ---- charts (uPlot) ----

// Attempts succeeded and failed per bucket, as two bar series side by side.
function chartData(stats) {
  const buckets = (stats && stats.buckets) || [];
  return [
    buckets.map((b) => Math.floor(new Date(b.start).getTime() / 1000)),
    buckets.map((b) => b.succeeded),
    buckets.map((b) => b.failed_attempts),
  ];
}

function makeChart(container, stats, { width, height, small }) {
  const U = window.uPlot;
  if (!U) return null; // the vendored file did not load; the numbers beside still show
  const bars = (align) => U.paths.bars({ size: [0.45, 40], align });
  const opts = {
    width,
    height,
    legend: { show: !small },
    cursor: small ? { show: false } : { points: { show: false } },
    select: { show: false },
    scales: {
      // Half a bucket of room on each side, so the first and last bars show whole.
      x: { time: true, range: (u, min, max) => [min - 1800, max + 1800] },
      y: { range: (u, min, max) => [0, Math.max(1, max)] },
    },
    axes: small ? [{ show: false }, { show: false }] : [
      { stroke: '#57606a', grid: { stroke: '#eaeef2' }, ticks: { stroke: '#d0d7de' } },
      { stroke: '#57606a', grid: { stroke: '#eaeef2' }, ticks: { stroke: '#d0d7de' },
        size: 40, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] },
    ],
    series: [
      { label: 'hour' },
      { label: 'succeeded', fill: '#2da44e', stroke: '#1a7f37', width: 0, paths: bars(-1),
        points: { show: false } },
      { label: 'failed', fill: '#e5534b', stroke: '#cf222e', width: 0, paths: bars(1),
        points: { show: false } },
    ],
  };
  const chart = new U(opts, chartData(stats), container);
  chart.lastData = JSON.stringify(chartData(stats));
  return chart;
}

function updateChart(chart, stats) {
  if (!chart) return;
  const data = chartData(stats);
  const key = JSON.stringify(data);
  if (key !== chart.lastData) {
    chart.lastData = key;
    chart.setData(data);
  }
}

// ---- sign-in ----

class SignInView extends View {
  constructor(message) {
    super();
    this.message = message;
  }

  mount(root) {
    const input = h('input', {
      type: 'password', id: 'signin-token', name: 'token', autocomplete: 'off',
      spellcheck: 'false', testid: 'signin-token', required: true,
    });
    const error = h('p', { class: 'field-error', testid: 'signin-error', hidden: !this.message,
      text: this.message || '' });
    const submit = h('button', { type: 'submit', class: 'primary', testid: 'signin-submit' },
      'Sign in');
    const form = h('form', { class: 'card signin', testid: 'signin-form', novalidate: true },
      h('h1', {}, 'Sign in to hookd'),
      h('p', { class: 'muted' },
        'Enter your account’s API token. It stays in this tab only and is forgotten when ' +
        'you sign out or close the tab. A platform’s portal link signs you in by itself.'),
      h('label', { for: 'signin-token' }, 'API token'),
      input, error, h('div', { class: 'form-actions' }, submit));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const token = input.value.trim();
      if (!token) {
        error.hidden = false;
        setText(error, 'Enter a token.');
        return;
      }
      submit.disabled = true;
      state.token = token;
      try {
        state.caller = await api('GET', '/api/v1/portal-session');
        sessionStorage.setItem(TOKEN_KEY, token);
        clearError();
        showSignedIn();
        if (!location.hash || location.hash === '#/') history.replaceState(null, '', '#/webhooks');
        route();
      } catch (e) {
        state.token = null;
        state.caller = null;
        error.hidden = false;
        setText(error, e.status === 401 || e.status === 403
          ? 'hookd refused this token: ' + e.message : e.message);
        submit.disabled = false;
      }
    });
    root.append(form);
    input.focus();
  }
}

function showSignedIn() {
  const c = state.caller;
  $('who').hidden = !c;
  $('nav').hidden = !c;
  if (!c) return;
  setText($('who-account'), c.account);
  let via;
  if (c.via === 'portal_session') {
    via = `portal link${c.read_only ? ', read-only' : ''}` +
      (c.expires_at ? `, until ${formatTime(c.expires_at)}` : '');
  } else {
    via = 'API token';
  }
  setText($('who-via'), via);
  // A portal session's cookie is HttpOnly: the page cannot end it, so only a token's
  // sign-in has a sign-out.
  $('sign-out').hidden = c.via !== 'token';
}

function signedOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  state.caller = null;
  showSignedIn();
  mountView(new SignInView(message));
}

// ---- the webhooks of the account ----

class WebhookRow {
  constructor(id) {
    this.id = id;
    this.name = h('a', { href: `#/webhooks/${id}`, testid: 'webhook-name' });
    this.url = h('td', { class: 'url', testid: 'webhook-url' });
    this.method = h('td', { class: 'method' });
    this.events = h('td', { class: 'events' });
    this.stateBadge = h('span', { class: 'badge' });
    this.reason = h('span', { class: 'reason' });
    this.rate = h('span', { class: 'rate' });
    this.attempts = h('span', { class: 'sub' });
    this.lastBadge = h('span', { class: 'badge' });
    this.lastLink = h('a', { class: 'sub' });
    this.lastNone = h('span', { class: 'muted', text: 'none yet' });
    this.lastTime = h('time', { class: 'sub' });
    this.chartBox = h('div', { class: 'spark', testid: 'webhook-chart' });
    this.chart = null;
    this.el = h('tr', { testid: 'webhook-row', 'data-webhook-id': id },
      h('td', { class: 'name' }, this.name),
      this.url, this.method, this.events,
      h('td', { class: 'state' }, this.stateBadge, this.reason),
      h('td', { class: 'num' }, this.rate, this.attempts),
      h('td', { class: 'last', testid: 'webhook-last' }, this.lastBadge, this.lastNone,
        this.lastLink, this.lastTime),
      h('td', { class: 'chart' }, this.chartBox));
  }

  update(item) {
    const w = item.webhook;
    setText(this.name, w.name);
    setText(this.url, w.url);
    setText(this.method, w.http_method);
    const types = subscribedTypes(w);
    setText(this.events, types.length ? types.join(', ') : 'none');
    setStateBadge(this.stateBadge, this.reason, w);
    const totals = (item.stats && item.stats.totals) || {};
    setText(this.rate, percent(totals.success_rate));
    setText(this.attempts, totals.attempts ? plural(totals.attempts, 'attempt', 'attempts')
      : 'no attempts');
    const last = item.last_delivery;
    this.lastBadge.hidden = !last;
    this.lastLink.hidden = !last;
    this.lastTime.hidden = !last;
    this.lastNone.hidden = !!last;
    if (last) {
      setBadge(this.lastBadge, last.status);
      setAttr(this.lastLink, 'href', `#/deliveries/${encodeURIComponent(last.uuid)}`);
      setText(this.lastLink, last.event_type);
      timeCell(this.lastTime, last.updated_at);
    }
    if (!this.chart) {
      this.chart = makeChart(this.chartBox, item.stats, { width: 168, height: 36, small: true });
    } else {
      updateChart(this.chart, item.stats);
    }
  }

  destroy() {
    if (this.chart) this.chart.destroy();
    this.el.remove();
  }
}

function setStateBadge(badgeEl, reasonEl, w) {
  let label;
  let cls;
  if (w.active) {
    label = 'active';
    cls = 'badge state-active';
  } else if (w.disabled_reason) {
    label = 'disabled';
    cls = 'badge state-disabled';
  } else {
    label = 'inactive';
    cls = 'badge state-inactive';
  }
  if (badgeEl.className !== cls) badgeEl.className = cls;
  setText(badgeEl, label);
  setText(reasonEl, !w.active && w.disabled_reason ? w.disabled_reason : '');
  reasonEl.hidden = !reasonEl.textContent;
}

class WebhooksView extends View {
  async mount(root) {
    this.rows = new Map();
    this.shown = PAGE_SIZE; // how many webhooks the user asked to see
    this.tbody = h('tbody', {});
    this.empty = h('p', { class: 'empty', testid: 'webhooks-empty', hidden: true },
      canWrite() ? 'No webhooks yet. Make one with “New webhook”.' : 'No webhooks yet.');
    this.more = h('button', { type: 'button', testid: 'webhooks-more', hidden: true,
      onclick: () => {
        this.shown += PAGE_SIZE;
        this.more.disabled = true;
        this.poller.kick();
      } }, 'More');
    root.append(
      h('div', { class: 'page-head' },
        h('h1', {}, 'Webhooks'),
        canWrite() ? h('a', { class: 'button primary', href: '#/webhooks/new',
          testid: 'new-webhook' }, 'New webhook') : null),
      h('p', { class: 'muted' }, 'Success rate, last delivery and attempts per hour over ' +
        'the last 24 hours (green succeeded, red failed).'),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'list', testid: 'webhooks-table' },
          h('thead', {}, h('tr', {},
            h('th', {}, 'Name'), h('th', {}, 'URL'), h('th', {}, 'Method'),
            h('th', {}, 'Events'), h('th', {}, 'State'), h('th', { class: 'num' }, 'Success 24 h'),
            h('th', {}, 'Last delivery'), h('th', {}, 'Attempts per hour'))),
          this.tbody)),
      this.empty,
      h('div', { class: 'pager' }, this.more));
    await this.refresh();
    this.startPolling();
  }

  async refresh() {
    const got = await fetchFirst(this.shown, (limit, after) => {
      const q = new URLSearchParams({ window: '24h', limit: String(limit) });
      if (after !== null) q.set('after', String(after));
      return `/api/v1/overview?${q}`;
    }, 'webhooks', this);
    if (!got) return;
    this.reconcile(got.items);
    this.empty.hidden = got.items.length > 0;
    this.more.hidden = !got.more;
    this.more.disabled = false;
  }

  reconcile(items) {
    const seen = new Set();
    let prev = null;
    for (const item of items) {
      const id = String(item.webhook.id);
      if (seen.has(id)) continue;
      seen.add(id);
      let row = this.rows.get(id);
      if (!row) {
        row = new WebhookRow(id);
        this.rows.set(id, row);
      }
      row.update(item);
      const want = prev ? prev.el.nextSibling : this.tbody.firstChild;
      if (want !== row.el) this.tbody.insertBefore(row.el, want);
      prev = row;
    }
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) {
        row.destroy();
        this.rows.delete(id);
      }
    }
  }

  unmount() {
    super.unmount();
    for (const row of (this.rows || new Map()).values()) {
      if (row.chart) row.chart.destroy();
    }
  }
}

// ---- new webhook / edit ----

// The form field a detail's path names: `webhook.url` → url, `webhook.settings.x` → settings.
function fieldOf(path) {
  const p = String(path || '').replace(/^webhook\.?/, '');
  const m = p.match(/^[A-Za-z_]+/);
  return m ? m[0] : '';
}

class WebhookFormView extends View {
  constructor(id) {
    super();
    this.id = id || null;
  }

  async mount(root) {
    this.root = root;
    const title = this.id ? 'Edit webhook' : 'New webhook';
    if (!canWrite()) {
      root.append(h('h1', {}, title),
        h('p', { class: 'muted' }, 'This session is read-only: it cannot change webhooks.'));
      return;
    }
    let webhook = null;
    let types;
    if (this.id) {
      // A webhook's settings list every type of the catalog with whether it is on.
      webhook = await api('GET', `/api/v1/webhooks/${this.id}`);
      types = Object.keys(webhook.settings || {});
    } else {
      const catalog = await api('GET', '/api/v1/event-types');
      types = catalog.event_types || [];
    }
    if (!this.alive) return;
    this.types = types;
    this.webhook = webhook;
    this.build(title, webhook, types);
  }

  build(title, w, types) {
    const field = (name, label, control, hint) => {
      const error = h('p', { class: 'field-error', testid: `field-error-${name}`, hidden: true });
      this.errors[name] = error;
      return h('div', { class: 'field' },
        h('label', { for: `field-${name}` }, label), control,
        hint ? h('p', { class: 'hint' }, hint) : null, error);
    };
    this.errors = {};
    this.name = h('input', { type: 'text', id: 'field-name', testid: 'field-name',
      autocomplete: 'off', value: w ? w.name : '' });
    this.url = h('input', { type: 'text', id: 'field-url', testid: 'field-url',
      inputmode: 'url', autocomplete: 'off', spellcheck: 'false',
      placeholder: 'https://example.com/hooks', value: w ? w.url : '' });
    this.method = h('select', { id: 'field-http_method', testid: 'field-method' },
      METHODS.map((m) => h('option', { value: m }, m)));
    this.method.value = w && METHODS.includes(w.http_method) ? w.http_method : 'POST';
    this.retry = h('input', { type: 'text', id: 'field-retry_schedule', testid: 'field-retry',
      autocomplete: 'off', placeholder: 'the server’s schedule',
      value: w && w.retry_schedule ? w.retry_schedule : '' });
    this.active = h('input', { type: 'checkbox', id: 'field-active', testid: 'field-active',
      checked: w ? !!w.active : true });
    this.boxes = types.map((t) => h('input', { type: 'checkbox', value: t,
      testid: 'event-checkbox', 'data-event-type': t,
      checked: w ? w.settings[t] === true : false }));
    const eventsError = h('p', { class: 'field-error', testid: 'field-error-settings',
      hidden: true });
    this.errors.settings = eventsError;
    this.formError = h('p', { class: 'field-error', testid: 'field-error-form', hidden: true });
    this.submit = h('button', { type: 'submit', class: 'primary', testid: 'form-submit' },
      w ? 'Save' : 'Create webhook');
    const form = h('form', { class: 'card form', testid: 'webhook-form', novalidate: true },
      h('h1', {}, title),
      field('name', 'Name', this.name),
      field('url', 'URL', this.url, 'Where hookd sends each delivery: http or https.'),
      field('http_method', 'HTTP method', this.method,
        'POST, PUT and PATCH send JSON; GET and DELETE send the fields as a query string.'),
      h('fieldset', { class: 'events-field', testid: 'event-types' },
        h('legend', {}, 'Events'),
        types.length ? h('div', { class: 'checks' }, this.boxes.map((box, i) =>
          h('label', { class: 'check' }, box, h('span', {}, types[i]))))
          : h('p', { class: 'muted' }, 'The event catalog is empty.'),
        eventsError),
      h('div', { class: 'field' },
        h('label', { class: 'check' }, this.active, h('span', {}, 'Active')),
        h('p', { class: 'hint' }, 'An inactive webhook gets no deliveries.'),
        this.errors.active = h('p', { class: 'field-error', testid: 'field-error-active',
          hidden: true })),
      field('retry_schedule', 'Retry schedule', this.retry,
        'Delays between attempts, like 1m,1h,6h. Empty: the server’s schedule.'),
      this.formError,
      h('div', { class: 'form-actions' }, this.submit,
        h('a', { class: 'button', href: w ? `#/webhooks/${w.id}` : '#/webhooks',
          testid: 'form-cancel' }, 'Cancel')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.save();
    });
    // A field's server error goes once the user changes that field.
    const controls = { name: [this.name], url: [this.url], http_method: [this.method],
      retry_schedule: [this.retry], active: [this.active], settings: this.boxes };
    for (const [name, els] of Object.entries(controls)) {
      for (const el of els) {
        el.addEventListener(el.type === 'checkbox' || el.tagName === 'SELECT' ? 'change' : 'input',
          () => {
            if (this.errors[name]) this.errors[name].hidden = true;
          });
      }
    }
    this.root.append(form);
    this.name.focus();
  }

  body() {
    const settings = {};
    this.boxes.forEach((box, i) => {
      settings[this.types[i]] = box.checked;
    });
    const retry = this.retry.value.trim();
    return {
      webhook: {
        name: this.name.value,
        url: this.url.value.trim(),
        http_method: this.method.value,
        active: this.active.checked,
        settings,
        retry_schedule: retry === '' ? null : retry,
      },
    };
  }

  showFieldErrors(err) {
    for (const el of Object.values(this.errors)) {
      el.hidden = true;
      el.textContent = '';
    }
    this.formError.hidden = true;
    const lines = {};
    for (const d of err.details) {
      let name = fieldOf(d.field);
      if (!this.errors[name]) name = 'form';
      let text = d.message || '';
      if (name === 'settings') {
        const rest = String(d.field).replace(/^webhook\.settings\.?/, '');
        if (rest) text = `${rest}: ${text}`;
      } else if (name === 'form' && d.field) {
        text = `${d.field}: ${text}`;
      }
      (lines[name] = lines[name] || []).push(text);
    }
    for (const [name, texts] of Object.entries(lines)) {
      const el = name === 'form' ? this.formError : this.errors[name];
      el.textContent = texts.join('\n');
      el.hidden = false;
    }
  }

  async save() {
    this.submit.disabled = true;
    try {
      const body = this.body();
      let saved;
      if (this.webhook) {
        saved = await api('PATCH', `/api/v1/webhooks/${this.webhook.id}`, body);
      } else {
        saved = await api('POST', '/api/v1/webhooks', body);
      }
      if (!this.alive) return;
      clearError();
      state.flash = this.webhook ? 'Saved.' : `Webhook “${saved.name}” created.`;
      location.hash = `#/webhooks/${saved.id}`;
    } catch (e) {
      if (!this.alive) return;
      this.showFieldErrors(e);
      showError(e);
      this.submit.disabled = false;
    }
  }
}

// ---- one webhook ----

class DeliveryRow {
  constructor(uuid) {
    this.uuid = uuid;
    this.link = h('a', { class: 'mono', href: `#/deliveries/${encodeURIComponent(uuid)}`,
      testid: 'delivery-link', text: uuid });
    this.type = h('td', {});
    this.status = h('span', { class: 'badge', testid: 'delivery-status' });
    this.attempts = h('td', { class: 'num' });
    this.created = h('time', {});
    this.updated = h('time', {});
    this.next = h('time', {});
    this.el = h('tr', { testid: 'delivery-row', 'data-uuid': uuid },
      h('td', {}, this.link), this.type, h('td', {}, this.status), this.attempts,
      h('td', {}, this.created), h('td', {}, this.updated), h('td', {}, this.next));
  }

  update(d) {
    setText(this.type, d.event_type);
    setBadge(this.status, d.status);
    setText(this.attempts, d.attempt_count);
    timeCell(this.created, d.created_at);
    timeCell(this.updated, d.updated_at);
    timeCell(this.next, d.next_attempt_at);
  }
}

// The rows of a paged list, kept in place across polls: `key` names a row.
function reconcileRows(tbody, rows, items, key, make) {
  const seen = new Set();
  let prev = null;
  for (const item of items) {
    const k = key(item);
    if (seen.has(k)) continue;
    seen.add(k);
    let row = rows.get(k);
    if (!row) {
      row = make(item);
      rows.set(k, row);
    }
    row.update(item);
    const want = prev ? prev.el.nextSibling : tbody.firstChild;
    if (want !== row.el) tbody.insertBefore(row.el, want);
    prev = row;
  }
  for (const [k, row] of rows) {
    if (!seen.has(k)) {
      row.el.remove();
      rows.delete(k);
    }
  }
}

function localInputValue(date) {
  const p = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T` +
    `${p(date.getHours())}:${p(date.getMinutes())}`;
}

class WebhookView extends View {
  constructor(id) {
    super();
    this.id = id;
    this.charts = [];
  }

  async mount(root) {
    this.root = root;
    this.deliveryRows = new Map();
    this.shown = PAGE_SIZE;
    this.filter = '';
    const [webhook, stats] = await Promise.all([
      api('GET', `/api/v1/webhooks/${this.id}`),
      api('GET', `/api/v1/webhooks/${this.id}/stats?window=24h`),
    ]);
    if (!this.alive) return;
    this.build(webhook, stats);
    await this.refreshDeliveries();
    this.startPolling();
  }

  build(w, stats) {
    const writable = canWrite();
    this.title = h('h1', { testid: 'webhook-title' });
    this.stateBadge = h('span', { class: 'badge', testid: 'webhook-state' });
    this.reason = h('span', { class: 'reason', testid: 'webhook-reason' });
    this.fields = {
      url: h('dd', { class: 'url', testid: 'webhook-url' }),
      method: h('dd', {}),
      events: h('dd', { testid: 'webhook-events' }),
      retry: h('dd', {}),
      created: h('dd', {}),
      updated: h('dd', {}),
    };

    // Actions: state-changing ones only for a session that may write.
    this.confirmBox = h('div', { class: 'confirm', testid: 'confirm-box', hidden: true });
    this.toggle = h('button', { type: 'button', testid: 'toggle-active',
      onclick: () => this.toggleActive() });
    const actions = writable ? h('div', { class: 'actions', testid: 'webhook-actions' },
      h('a', { class: 'button', href: `#/webhooks/${this.id}/edit`, testid: 'edit-webhook' },
        'Edit'),
      this.toggle,
      h('button', { type: 'button', testid: 'rotate-secret', onclick: () => this.confirm(
        'Rotate the signing secret? The current one keeps signing beside the new one for 24 hours.',
        'Rotate secret', () => this.rotate()) }, 'Rotate secret'),
      h('button', { type: 'button', class: 'danger', testid: 'delete-webhook',
        onclick: () => this.confirm(
          'Delete this webhook? Its pending deliveries are cancelled.',
          'Delete webhook', () => this.remove()) }, 'Delete')) : null;

    // The secret, fetched only when asked for.
    this.secretValue = h('code', { class: 'secret', testid: 'secret-value' });
    this.secretNote = h('span', { class: 'sub' });
    this.secretBox = h('div', { class: 'secret-box', hidden: true },
      this.secretValue, ' ', this.secretNote);
    this.revealButton = h('button', { type: 'button', testid: 'reveal-secret',
      onclick: () => this.toggleSecret() }, 'Reveal secret');

    // The 24 h chart.
    this.chartBox = h('div', { class: 'chart-box', testid: 'webhook-chart' });
    this.totals = h('p', { class: 'totals', testid: 'webhook-totals' });

    // Deliveries.
    this.filterSelect = h('select', { id: 'deliveries-filter', testid: 'deliveries-filter',
      onchange: () => {
        this.filter = this.filterSelect.value;
        this.shown = PAGE_SIZE;
        this.poller.kick();
      } },
    h('option', { value: '' }, 'all'),
    FILTERS.map((s) => h('option', { value: s }, s)));
    this.deliveriesBody = h('tbody', {});
    this.deliveriesEmpty = h('p', { class: 'empty', testid: 'deliveries-empty', hidden: true },
      'No deliveries.');
    this.more = h('button', { type: 'button', testid: 'deliveries-more', hidden: true,
      onclick: () => {
        this.shown += PAGE_SIZE;
        this.more.disabled = true;
        this.poller.kick();
      } }, 'More');

    // Recover.
    this.since = h('input', { type: 'datetime-local', id: 'recover-since', testid: 'recover-since',
      value: localInputValue(new Date(Date.now() - 24 * 3600 * 1000)) });
    this.recoverResult = h('span', { class: 'sub', testid: 'recover-result', role: 'status' });
    this.recoverButton = h('button', { type: 'submit', testid: 'recover-submit' },
      'Recover failed deliveries');
    const recover = writable ? h('form', { class: 'inline-form', testid: 'recover-form',
      novalidate: true },
    h('label', { for: 'recover-since' }, 'Send failed deliveries again, created since'),
    this.since, this.recoverButton, this.recoverResult) : null;
    if (recover) {
      recover.addEventListener('submit', (ev) => {
        ev.preventDefault();
        this.recover();
      });
    }

    this.root.append(
      h('p', { class: 'crumbs' }, h('a', { href: '#/webhooks' }, 'Webhooks'), ' / ',
        h('span', { class: 'mono' }, `#${this.id}`)),
      h('div', { class: 'page-head' }, h('div', { class: 'title' }, this.title, this.stateBadge,
        this.reason), actions),
      this.confirmBox,
      h('div', { class: 'columns' }, h('section', { class: 'card' },
        h('dl', { class: 'props' },
          h('dt', {}, 'URL'), this.fields.url,
          h('dt', {}, 'Method'), this.fields.method,
          h('dt', {}, 'Events'), this.fields.events,
          h('dt', {}, 'Retry schedule'), this.fields.retry,
          h('dt', {}, 'Created'), this.fields.created,
          h('dt', {}, 'Updated'), this.fields.updated,
          h('dt', {}, 'Signing secret'),
          h('dd', {}, this.revealButton, this.secretBox))),
      h('section', { class: 'card' },
        h('h2', {}, 'Attempts per hour, last 24 hours'), this.chartBox, this.totals)),
      h('section', { class: 'card' },
        h('div', { class: 'section-head' }, h('h2', {}, 'Deliveries'),
          h('label', { class: 'filter' }, 'Status ', this.filterSelect)),
        h('div', { class: 'table-wrap' },
          h('table', { class: 'list', testid: 'deliveries-table' },
            h('thead', {}, h('tr', {}, h('th', {}, 'Delivery'), h('th', {}, 'Event'),
              h('th', {}, 'Status'), h('th', { class: 'num' }, 'Attempts'), h('th', {}, 'Created'),
              h('th', {}, 'Updated'), h('th', {}, 'Next attempt'))),
            this.deliveriesBody)),
        this.deliveriesEmpty,
        h('div', { class: 'pager' }, h('span', { class: 'sub' }, 'Newest first.'), this.more),
        recover));
    this.showWebhook(w);
    const width = Math.max(300, Math.min(1200, this.chartBox.clientWidth || 600));
    this.chart = makeChart(this.chartBox, stats, { width, height: 180, small: false });
    if (this.chart) this.charts.push(this.chart);
    this.showTotals(stats);
  }

  showWebhook(w) {
    this.webhook = w;
    setText(this.title, w.name);
    document.title = `${w.name} · hookd`;
    setStateBadge(this.stateBadge, this.reason, w);
    setText(this.fields.url, w.url);
    setText(this.fields.method, w.http_method);
    const types = subscribedTypes(w);
    setText(this.fields.events, types.length ? types.join(', ') : 'none');
    setText(this.fields.retry, w.retry_schedule || 'the server’s schedule');
    setText(this.fields.created, formatTime(w.created_at));
    setText(this.fields.updated, formatTime(w.updated_at));
    setText(this.toggle, w.active ? 'Deactivate' : 'Activate');
  }

  showTotals(stats) {
    const t = stats.totals || {};
    const parts = [
      plural(t.attempts || 0, 'attempt', 'attempts'),
      `${t.succeeded || 0} succeeded`,
      `${t.failed_attempts || 0} failed`,
      `success rate ${percent(t.success_rate)}`,
      `${plural(t.failed_deliveries || 0, 'delivery', 'deliveries')} given up`,
    ];
    if (t.average_duration_ms !== null && t.average_duration_ms !== undefined) {
      parts.push(`average ${t.average_duration_ms} ms`);
    }
    setText(this.totals, parts.join(' · '));
  }

  async refresh() {
    const [webhook, stats] = await Promise.all([
      api('GET', `/api/v1/webhooks/${this.id}`),
      api('GET', `/api/v1/webhooks/${this.id}/stats?window=24h`),
    ]);
    if (!this.alive) return;
    this.showWebhook(webhook);
    updateChart(this.chart, stats);
    this.showTotals(stats);
    await this.refreshDeliveries();
  }

  async refreshDeliveries() {
    const filter = this.filter;
    const got = await fetchFirst(this.shown, (limit, after) => {
      const q = new URLSearchParams({ order: 'newest', limit: String(limit) });
      if (filter) q.set('status', filter);
      if (after !== null) q.set('after', after);
      return `/api/v1/webhooks/${this.id}/deliveries?${q}`;
    }, 'deliveries', this);
    if (!got || filter !== this.filter) return; // a changed filter: the next run shows it
    reconcileRows(this.deliveriesBody, this.deliveryRows, got.items, (d) => d.uuid,
      (d) => new DeliveryRow(d.uuid));
    this.deliveriesEmpty.hidden = got.items.length > 0;
    this.more.hidden = !got.more;
    this.more.disabled = false;
  }

  confirm(message, label, action) {
    const yes = h('button', { type: 'button', class: 'danger', testid: 'confirm-yes' }, label);
    const no = h('button', { type: 'button', testid: 'confirm-no' }, 'Cancel');
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await action();
      } finally {
        this.confirmBox.hidden = true;
        this.confirmBox.replaceChildren();
      }
    });
    no.addEventListener('click', () => {
      this.confirmBox.hidden = true;
      this.confirmBox.replaceChildren();
    });
    this.confirmBox.replaceChildren(h('span', {}, message), yes, no);
    this.confirmBox.hidden = false;
    yes.focus();
  }

  async toggleActive() {
    const activate = !this.webhook.active;
    const go = async () => {
      try {
        const w = await api('PATCH', `/api/v1/webhooks/${this.id}`,
          { webhook: { active: activate } });
        if (!this.alive) return;
        this.showWebhook(w);
        clearError();
        showNotice(activate ? 'Webhook activated.' : 'Webhook deactivated.');
        this.poller.kick();
      } catch (e) {
        showError(e);
      }
    };
    if (activate) {
      this.toggle.disabled = true;
      await go();
      this.toggle.disabled = false;
    } else {
      this.confirm('Deactivate this webhook? It gets no new deliveries and its pending ' +
        'ones are cancelled.', 'Deactivate', go);
    }
  }

  async toggleSecret() {
    if (!this.secretBox.hidden) {
      this.secretBox.hidden = true;
      this.secretValue.textContent = '';
      setText(this.revealButton, 'Reveal secret');
      return;
    }
    try {
      const s = await api('GET', `/api/v1/webhooks/${this.id}/secret`);
      if (!this.alive) return;
      this.showSecret(s);
    } catch (e) {
      showError(e);
    }
  }

  showSecret(s) {
    setText(this.secretValue, s.secret);
    setText(this.secretNote, s.previous_secret_expires_at
      ? `the previous secret signs too until ${formatTime(s.previous_secret_expires_at)}` : '');
    this.secretBox.hidden = false;
    setText(this.revealButton, 'Hide secret');
  }

  async rotate() {
    try {
      const s = await api('POST', `/api/v1/webhooks/${this.id}/secret/rotate`);
      if (!this.alive) return;
      this.showSecret(s);
      clearError();
      showNotice('Secret rotated.');
    } catch (e) {
      showError(e);
    }
  }

  async remove() {
    try {
      await api('DELETE', `/api/v1/webhooks/${this.id}`);
      if (!this.alive) return;
      clearError();
      state.flash = 'Webhook deleted.';
      location.hash = '#/webhooks';
    } catch (e) {
      showError(e);
    }
  }

  async recover() {
    const when = new Date(this.since.value);
    if (!this.since.value || Number.isNaN(when.getTime())) {
      setText(this.recoverResult, 'Pick a date and time.');
      return;
    }
    this.recoverButton.disabled = true;
    try {
      const r = await api('POST', `/api/v1/webhooks/${this.id}/recover`,
        { since: when.toISOString() });
      if (!this.alive) return;
      clearError();
      setText(this.recoverResult, `Recovered ${plural(r.recovered, 'delivery', 'deliveries')}.`);
      this.poller.kick();
    } catch (e) {
      setText(this.recoverResult, '');
      showError(e);
    } finally {
      this.recoverButton.disabled = false;
    }
  }
}

// ---- one delivery ----

class AttemptRow {
  constructor() {
    this.number = h('td', { class: 'num' });
    this.at = h('td', {});
    this.result = h('td', {});
    this.duration = h('td', { class: 'num' });
    this.excerpt = h('pre', { class: 'excerpt' });
    this.manual = h('td', {});
    this.el = h('tr', { testid: 'attempt-row' }, this.number, this.at, this.result,
      this.duration, h('td', {}, this.excerpt), this.manual);
  }

  update(a) {
    setText(this.number, a.number);
    setText(this.at, formatTime(a.at));
    const ok = a.error_kind === null || a.error_kind === undefined;
    const code = a.status_code !== null && a.status_code !== undefined ? String(a.status_code) : '';
    const result = ok ? code || 'ok' : [code, a.error_kind].filter(Boolean).join(' ') +
      (a.error ? ` — ${a.error}` : '');
    const cls = ok ? 'result ok' : 'result failed';
    if (this.result.className !== cls) this.result.className = cls;
    setText(this.result, result);
    setText(this.duration, `${a.duration_ms} ms`);
    setText(this.excerpt, a.response_excerpt || '');
    setText(this.manual, a.manual ? 'manual' : 'scheduled');
  }
}

// The payload pretty-printed; a string is re-indented token by token so numbers and
// escapes stay exactly as written.
function prettyJson(payload) {
  if (typeof payload !== 'string') return JSON.stringify(payload, null, 2);
  let out = '';
  let depth = 0;
  let inString = false;
  let escaped = false;
  const nl = () => `\n${'  '.repeat(depth)}`;
  for (let i = 0; i < payload.length; i++) {
    const c = payload[i];
    if (inString) {
      out += c;
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === ' ' || c === '\n' || c === '\r' || c === '\t') continue;
    if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      let j = i + 1;
      while (j < payload.length && /\s/.test(payload[j])) j++;
      if (payload[j] === close) {
        out += c + close;
        i = j;
      } else {
        depth++;
        out += c + nl();
      }
    } else if (c === '}' || c === ']') {
      depth = Math.max(0, depth - 1);
      out += nl() + c;
    } else if (c === ',') {
      out += `,${nl()}`;
    } else if (c === ':') {
      out += ': ';
    } else {
      out += c;
    }
  }
  return out;
}

class DeliveryView extends View {
  constructor(uuid) {
    super();
    this.uuid = uuid;
  }

  async mount(root) {
    this.root = root;
    const d = await api('GET', `/api/v1/deliveries/${encodeURIComponent(this.uuid)}`);
    if (!this.alive) return;
    this.build(d);
    this.startPolling();
  }

  build(d) {
    this.rows = new Map();
    this.webhookLink = h('a', { testid: 'delivery-webhook' });
    this.status = h('span', { class: 'badge', testid: 'delivery-status' });
    this.fields = {
      event: h('dd', { testid: 'delivery-event-type' }),
      eventId: h('dd', { class: 'mono' }),
      created: h('dd', {}),
      updated: h('dd', {}),
      count: h('dd', { testid: 'delivery-attempt-count' }),
      next: h('dd', {}),
    };
    this.payload = h('pre', { class: 'payload', testid: 'delivery-payload' });
    this.payloadNote = h('p', { class: 'muted', testid: 'delivery-payload-missing', hidden: true },
      'hookd’s API does not return this delivery’s payload.');
    this.attemptsBody = h('tbody', {});
    this.attemptsEmpty = h('p', { class: 'empty', hidden: true }, 'No attempt yet.');
    this.retryResult = h('span', { class: 'sub', testid: 'retry-result', role: 'status' });
    this.retryButton = h('button', { type: 'button', class: 'primary', testid: 'retry-delivery',
      onclick: () => this.retry() }, 'Retry now');
    this.root.append(
      h('p', { class: 'crumbs' }, h('a', { href: '#/webhooks' }, 'Webhooks'), ' / ',
        this.webhookLink, ' / ', h('span', { class: 'mono' }, this.uuid)),
      h('div', { class: 'page-head' },
        h('div', { class: 'title' }, h('h1', {}, 'Delivery'), this.status),
        canWrite() ? h('div', { class: 'actions' }, this.retryButton, this.retryResult) : null),
      h('div', { class: 'columns' }, h('section', { class: 'card' }, h('dl', { class: 'props' },
        h('dt', {}, 'Delivery'), h('dd', { class: 'mono', testid: 'delivery-uuid' }, this.uuid),
        h('dt', {}, 'Event type'), this.fields.event,
        h('dt', {}, 'Event id'), this.fields.eventId,
        h('dt', {}, 'Created'), this.fields.created,
        h('dt', {}, 'Updated'), this.fields.updated,
        h('dt', {}, 'Attempts'), this.fields.count,
        h('dt', {}, 'Next attempt'), this.fields.next)),
      h('section', { class: 'card' }, h('h2', {}, 'Payload'), this.payload, this.payloadNote)),
      h('section', { class: 'card' }, h('h2', {}, 'Attempts'),
        h('div', { class: 'table-wrap' },
          h('table', { class: 'list', testid: 'attempts-table' },
            h('thead', {}, h('tr', {}, h('th', { class: 'num' }, '#'), h('th', {}, 'Time'),
              h('th', {}, 'Result'), h('th', { class: 'num' }, 'Duration'),
              h('th', {}, 'Response excerpt'), h('th', {}, 'Kind'))),
            this.attemptsBody)),
        this.attemptsEmpty));
    this.show(d);
  }

  show(d) {
    setText(this.webhookLink, `webhook #${d.webhook_id}`);
    setAttr(this.webhookLink, 'href', `#/webhooks/${d.webhook_id}`);
    setBadge(this.status, d.status);
    setText(this.fields.event, d.event_type);
    setText(this.fields.eventId, d.event_id);
    setText(this.fields.created, formatTime(d.created_at));
    setText(this.fields.updated, formatTime(d.updated_at));
    setText(this.fields.count, d.attempt_count);
    setText(this.fields.next, d.next_attempt_at ? formatTime(d.next_attempt_at) : '—');
    const payload = d.payload !== undefined ? d.payload : d.body;
    this.payload.hidden = payload === undefined;
    this.payloadNote.hidden = payload !== undefined;
    if (payload !== undefined) setText(this.payload, prettyJson(payload));
    const attempts = d.attempts || [];
    reconcileRows(this.attemptsBody, this.rows, attempts, (a) => String(a.number),
      () => new AttemptRow());
    this.attemptsEmpty.hidden = attempts.length > 0;
  }

  async refresh() {
    const d = await api('GET', `/api/v1/deliveries/${encodeURIComponent(this.uuid)}`);
    if (this.alive) this.show(d);
  }

  async retry() {
    this.retryButton.disabled = true;
    try {
      const r = await api('POST', `/api/v1/deliveries/${encodeURIComponent(this.uuid)}/retry`);
      if (!this.alive) return;
      clearError();
      setBadge(this.status, r.delivery.status);
      setText(this.retryResult, 'Queued for another attempt.');
      this.poller.kick();
    } catch (e) {
      showError(e);
    } finally {
      this.retryButton.disabled = false;
    }
  }
}

class NotFoundView extends View {
  mount(root) {
    root.append(h('h1', {}, 'Not found'),
      h('p', {}, h('a', { href: '#/webhooks' }, 'Back to the webhooks')));
  }
}

// ---- routing ----

function parseRoute(hash) {
  const p = hash.replace(/^#/, '');
  let m;
  if (p === '' || p === '/' || p === '/webhooks') return new WebhooksView();
  if (p === '/webhooks/new') return new WebhookFormView(null);
  if ((m = p.match(/^\/webhooks\/(\d+)$/))) return new WebhookView(m[1]);
  if ((m = p.match(/^\/webhooks\/(\d+)\/edit$/))) return new WebhookFormView(m[1]);
  if ((m = p.match(/^\/deliveries\/([0-9A-Fa-f-]{36})$/))) return new DeliveryView(m[1]);
  return new NotFoundView();
}

async function mountView(view) {
  if (state.view) state.view.unmount();
  state.view = view;
  const root = $('view');
  root.replaceChildren();
  window.scrollTo(0, 0);
  try {
    await view.mount(root);
  } catch (e) {
    if (view.alive) {
      showError(e);
      if (!root.firstChild) {
        root.append(h('p', { class: 'muted', testid: 'page-failed' },
          'This page could not be loaded.'));
      }
    }
  }
}

function route() {
  if (!state.caller) return;
  clearError();
  showNotice(state.flash);
  state.flash = null;
  mountView(parseRoute(location.hash));
}

async function start() {
  $('banner-close').addEventListener('click', () => clearError());
  $('sign-out').addEventListener('click', () => {
    clearError();
    showNotice(null);
    signedOut(null);
  });
  window.addEventListener('hashchange', route);
  state.token = sessionStorage.getItem(TOKEN_KEY);
  try {
    state.caller = await api('GET', '/api/v1/portal-session');
  } catch (e) {
    state.caller = null;
    const hadToken = !!state.token;
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    if (e.status === 401) {
      signedOut(hadToken ? 'Your token was refused; sign in again.' : null);
    } else {
      signedOut(null);
      showError(e);
    }
    return;
  }
  showSignedIn();
  if (!location.hash) history.replaceState(null, '', '#/webhooks');
  route();
}

start();
