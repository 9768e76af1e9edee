// The portal in a real browser: starts its own receiver and `hookd serve` on port 0,
// drives Debian's Chromium (headless, through puppeteer-core) through sign-in, the
// webhook form, live deliveries, a retry, portal links (one-time, read-only) and a
// webhook named like markup, and takes the screenshots of docs at 1280×800.
//
//   node tests/portal/portal_test.mjs --hookd build/tools/hookd --out DIR [--screenshots DIR]
//
// Environment: CHROMIUM (default /usr/bin/chromium). Prints one line per check; exits 0
// when all pass, else 1 after a screenshot of the failing page in --out. Any console
// error, CSP violation, uncaught exception or dialog of a page fails the check it
// happens in, except the network errors a check expects (a 401 before sign-in, a 422
// of the form, the 410 of a used link). Chromium runs with a profile of its own in a
// temporary folder and reaches nothing but this machine: puppeteer-core neither
// downloads nor looks for a browser of its own when given executablePath.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import puppeteer from 'puppeteer-core';

const WAIT_MS = 20000;

function parseArgs(argv) {
  const opts = { hookd: null, out: null, screenshots: null };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in opts) || i + 1 >= argv.length) {
      console.error(`usage: node portal_test.mjs --hookd PATH --out DIR [--screenshots DIR]` +
        ` (bad argument ${argv[i]})`);
      process.exit(2);
    }
    opts[key] = argv[++i];
  }
  if (!opts.hookd || !opts.out) {
    console.error('usage: node portal_test.mjs --hookd PATH --out DIR [--screenshots DIR]');
    process.exit(2);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
fs.mkdirSync(opts.out, { recursive: true });
if (opts.screenshots) fs.mkdirSync(opts.screenshots, { recursive: true });

// ---- the receiver: 200 everywhere, 500 on /failing; counts requests per delivery ----

function startReceiver() {
  const seen = new Map(); // webhook-id (delivery uuid) → requests
  const bodies = new Map(); // webhook-id → the last body it got
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const id = req.headers['webhook-id'];
      if (id) {
        seen.set(id, (seen.get(id) || 0) + 1);
        bodies.set(id, Buffer.concat(chunks).toString('utf8'));
      }
      const failing = req.url.startsWith('/failing');
      res.writeHead(failing ? 500 : 200, { 'Content-Type': 'application/json' });
      res.end(failing ? '{"error":"the receiver is down for this test"}' : '{"received":true}');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ server, seen, bodies, url: `http://127.0.0.1:${server.address().port}` });
    });
  });
}

// ---- hookd ----

function startHookd(dir) {
  const log = fs.openSync(path.join(opts.out, 'hookd.stderr.log'), 'w');
  const child = spawn(opts.hookd, [
    'serve', '--listen', '127.0.0.1:0', '--data', path.join(dir, 'data'),
    '--allow-private-targets', '--retry-schedule', '300ms', '--retry-jitter', '0',
  ], {
    env: { ...process.env, HOOKD_TOKENS: 'acme:tok_acme,beta:tok_beta' },
    stdio: ['ignore', 'pipe', log],
  });
  const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve(code ?? sig)));
  const port = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('hookd printed no listening line in 30 s')),
      30000);
    const lines = readline.createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const m = line.match(/hookd listening on http:\/\/[^:]+:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('error', (e) => reject(new Error(`could not start ${opts.hookd}: ${e.message}`)));
    exited.then((code) => reject(new Error(`hookd exited (${code}) before listening; see ` +
      `${path.join(opts.out, 'hookd.stderr.log')}`)));
  });
  return { child, port, exited };
}

// What `promise` gives, or 'timeout' after `ms` (the timer does not outlive it).
async function within(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), ms); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function stopHookd(h) {
  if (!h || h.child.exitCode !== null || h.child.signalCode !== null) return;
  h.child.kill('SIGTERM');
  if (await within(h.exited, 15000) === 'timeout') {
    h.child.kill('SIGKILL');
    await h.exited;
  }
}

// ---- checks ----

let checkNumber = 0;
let currentPage = null; // the page a failure's screenshot shows
const problems = []; // console errors, CSP violations, exceptions, dialogs
let allowed = []; // network errors the running check expects: {status, url}

class CheckFailed extends Error {}

async function check(name, fn) {
  checkNumber += 1;
  problems.length = 0;
  try {
    await fn();
    if (problems.length) throw new Error(`the page reported: ${problems.join(' | ')}`);
    console.log(`ok ${checkNumber} - ${name}`);
  } catch (e) {
    console.log(`not ok ${checkNumber} - ${name}`);
    console.log(`  ${String(e.message || e).split('\n').join('\n  ')}`);
    if (currentPage && !currentPage.isClosed()) {
      const file = path.join(opts.out, `failure-${checkNumber}.png`);
      try {
        await currentPage.screenshot({ path: file });
        console.log(`  screenshot of the failing page: ${file} (at ${currentPage.url()})`);
      } catch (se) {
        console.log(`  no screenshot: ${se.message}`);
      }
    }
    throw new CheckFailed(name);
  } finally {
    allowed = [];
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

// Watches a page for everything that must not happen.
function watch(page, label) {
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    const url = (msg.location() && msg.location().url) || '';
    const m = text.match(/status of (\d{3})/);
    if (m && allowed.some((a) => a.status === Number(m[1]) && url.includes(a.url))) return;
    problems.push(`[${label}] console error: ${text}${url ? ` (${url})` : ''}`);
  });
  page.on('pageerror', (e) => problems.push(`[${label}] uncaught: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`[${label}] a ${d.type()} dialog opened: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
}

// Every CSP violation also reaches the console as an error the watcher sees.
const REPORT_CSP = () => {
  document.addEventListener('securitypolicyviolation', (e) => {
    console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}` +
      ` at ${e.sourceFile}:${e.lineNumber}`);
  });
};

async function shoot(page, name) {
  const file = path.join(opts.out, name);
  await page.screenshot({ path: file });
  if (opts.screenshots) fs.copyFileSync(file, path.join(opts.screenshots, name));
}

// ---- what a person sees: elements found by what they show, waited for ----

const byTestId = (id) => `[data-testid="${id}"]`;

// The first element matching `selector` that is visible and whose text (whitespace
// folded, as a person reads it) contains `text`, once there is one; its handle.
async function shown(page, selector, text = null) {
  try {
    const found = await page.waitForFunction((sel, want) => {
      const fold = (t) => t.replace(/\s+/g, ' ').trim();
      for (const el of document.querySelectorAll(sel)) {
        if (el.checkVisibility() && (want === null || fold(el.textContent).includes(want))) {
          return el;
        }
      }
      return null;
    }, { timeout: WAIT_MS }, selector, text === null ? null : text.replace(/\s+/g, ' ').trim());
    return found.asElement();
  } catch (e) {
    throw new Error(`nothing visible matches ${selector}` +
      `${text === null ? '' : ` with the text "${text}"`} after ${WAIT_MS} ms (${e.message})`);
  }
}

// The texts of the visible elements matching `selector`, once there are `atLeast`.
async function shownAll(page, selector, atLeast) {
  try {
    const found = await page.waitForFunction((sel, n) => {
      const texts = [...document.querySelectorAll(sel)].filter((el) => el.checkVisibility())
        .map((el) => el.textContent);
      return texts.length >= n ? texts : null;
    }, { timeout: WAIT_MS }, selector, atLeast);
    return await found.jsonValue();
  } catch (e) {
    throw new Error(`fewer than ${atLeast} visible ${selector} after ${WAIT_MS} ms (${e.message})`);
  }
}

// Clicks what shows `selector` (and `text`), as a person would: once it is visible,
// enabled and still, in the viewport.
async function click(page, selector, text = null) {
  const el = await shown(page, selector, text);
  await el.asLocator().setTimeout(WAIT_MS).click();
}

// Types `value` into the field over what it held, as a person would.
async function fill(page, selector, value) {
  await page.locator(selector).setTimeout(WAIT_MS).setVisibility('visible').fill(value);
}

async function count(page, selector) {
  return page.$$eval(selector, (els) => els.length);
}

async function textOf(page, selector) {
  return page.$eval(selector, (el) => el.textContent);
}

async function isVisible(page, selector) {
  return page.$$eval(selector, (els) => els.some((el) => el.checkVisibility()));
}

// Closes the browser, or kills it when it does not close within 15 s.
async function closeBrowser(browser) {
  if (!browser) return;
  const closed = browser.close().then(() => 'closed', () => 'failed');
  if (await within(closed, 15000) !== 'closed' && browser.process()) {
    browser.process().kill('SIGKILL');
  }
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookd-portal-test-'));
  const receiver = await startReceiver();
  let hookd = null;
  let browser = null;
  try {
    hookd = startHookd(dir);
    // Interrupted (ctest's timeout, ^C): hookd goes too.
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
      process.once(sig, () => {
        hookd.child.kill('SIGTERM');
        if (browser && browser.process()) browser.process().kill('SIGKILL');
        fs.rmSync(dir, { recursive: true, force: true });
        process.exit(1);
      });
    }
    const base = `http://127.0.0.1:${await hookd.port}`;

    // The API as a platform calls it.
    const api = async (method, p, token, body, expected) => {
      const res = await fetch(base + p, {
        method,
        headers: {
          'X-Token': token,
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status !== expected) {
        throw new Error(`${method} ${p} answered ${res.status}, not ${expected}: ${text}`);
      }
      return text ? JSON.parse(text) : null;
    };
    const createWebhook = (token, name, url, types) => api('POST', '/api/v1/webhooks', token, {
      webhook: {
        name, url, http_method: 'POST', active: true,
        settings: Object.fromEntries(types.map((t) => [t, true])),
      },
    }, 201);
    const publish = (token, type, payload) =>
      api('POST', '/api/v1/events', token, { event: { type, payload } }, 202);
    const portalLink = (token, body) => api('POST', '/api/v1/portal-sessions', token, body, 201);

    browser = await puppeteer.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      userDataDir: path.join(dir, 'chromium-profile'),
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        // Even so Chromium 156 looks up accounts.google.com and clients2.google.com (new
        // profiles, extension updates); no name resolves here, and nothing asks DNS.
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
      defaultViewport: { width: 1280, height: 800 },
      // The signals are this script's to handle (hookd goes too); the browser follows
      // on exit either way.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    // Each browser context is a new incognito-like profile: no cookie or storage shared.
    const newContext = () => browser.createBrowserContext();
    const newPage = async (context) => {
      const p = await context.newPage();
      await p.evaluateOnNewDocument(REPORT_CSP);
      return p;
    };

    const acme = await newContext();
    const page = await newPage(acme);
    watch(page, 'acme');
    currentPage = page;

    await check('the portal is served with a strict Content-Security-Policy', async () => {
      const res = await fetch(`${base}/portal/`);
      assert(res.status === 200, `GET /portal/ answered ${res.status}`);
      const csp = res.headers.get('content-security-policy') || '';
      assert(/script-src 'self'/.test(csp) && /default-src 'none'/.test(csp),
        `GET /portal/ has no strict CSP: "${csp}"`);
      // Without its slash the page's relative links would miss: the server adds it.
      const bare = await fetch(`${base}/portal`, { redirect: 'manual' });
      const to = bare.headers.get('location');
      assert(bare.status === 308 && to === '/portal/',
        `GET /portal answered ${bare.status} to ${to}, not 308 to /portal/`);
    });

    await check('sign in with an account token', async () => {
      allowed = [{ status: 401, url: '/api/v1/portal-session' }]; // asked before sign-in
      await page.goto(`${base}/portal/`);
      await shown(page, byTestId('signin-form'));
      await shoot(page, 'signin.png');
      await fill(page, byTestId('signin-token'), 'tok_acme');
      await click(page, byTestId('signin-submit'));
      await shown(page, byTestId('who-account'), 'acme');
      await shown(page, byTestId('who-via'), 'API token');
      await shown(page, byTestId('webhooks-empty'));
      const where = await page.evaluate(() => ({
        session: sessionStorage.getItem('hookd.token'),
        local: localStorage.length,
        href: location.href,
      }));
      assert(where.session === 'tok_acme', 'the token is not in sessionStorage');
      assert(where.local === 0, 'the page wrote to localStorage');
      assert(!where.href.includes('tok_acme'), `the token is in the URL: ${where.href}`);
    });

    // Webhooks of acme made as a platform would, so the list has a success and a failure.
    const orders = await createWebhook('tok_acme', 'Orders to fulfilment', `${receiver.url}/orders`,
      ['customer_created', 'customer_state_changed']);
    const failing = await createWebhook('tok_acme', 'Legacy CRM (down)', `${receiver.url}/failing`,
      ['customer_created']);

    let formWebhookId = null;
    await check('create a webhook through the form; a bad URL is shown at its field', async () => {
      await page.goto(`${base}/portal/#/webhooks`);
      await click(page, byTestId('new-webhook'));
      await shown(page, byTestId('webhook-form'));
      await fill(page, byTestId('field-name'), 'Signup notifications');
      await fill(page, byTestId('field-url'), `${receiver.url}/signups`);
      await page.select(byTestId('field-method'), 'POST');
      for (const type of ['customer_created', 'outbound_message']) {
        const box = `${byTestId('event-checkbox')}[data-event-type="${type}"]`;
        await click(page, box);
        assert(await page.$eval(box, (el) => el.checked), `${type} is not ticked`);
      }
      await shoot(page, 'webhook-form.png');
      await fill(page, byTestId('field-url'), 'not a url');
      allowed = [{ status: 422, url: '/api/v1/webhooks' }];
      await click(page, byTestId('form-submit'));
      const urlError = await shown(page, byTestId('field-error-url'));
      assert((await urlError.evaluate((el) => el.textContent)).length > 0,
        'the URL field error is empty');
      await shown(page, byTestId('error-banner'));
      await fill(page, byTestId('field-url'), `${receiver.url}/signups`);
      assert(!await urlError.evaluate((el) => el.checkVisibility()),
        'the URL error stays after the URL was changed');
      await click(page, byTestId('form-submit'));
      await shown(page, byTestId('webhook-title'), 'Signup notifications');
      formWebhookId = page.url().match(/#\/webhooks\/(\d+)$/)[1];
      await click(page, byTestId('nav-webhooks'));
      const row = await shown(page, byTestId('webhook-row'), 'Signup notifications');
      const text = await row.evaluate((el) => el.textContent);
      assert(text.includes(`${receiver.url}/signups`), `the row lacks the URL: ${text}`);
      assert(text.includes('customer_created') && text.includes('outbound_message'),
        `the row lacks the events: ${text}`);
      assert(await count(page, byTestId('webhook-row')) === 3,
        'the list does not show the 3 webhooks of acme');
    });

    let deliveryUuid = null;
    await check('a published event\'s delivery appears on the webhook page without reloading',
      async () => {
        await click(page, byTestId('webhook-name'), 'Signup notifications');
        await shown(page, byTestId('deliveries-empty'));
        await page.evaluate(() => { window.__sameDocument = true; });
        await publish('tok_acme', 'customer_created',
          { customer: { id: 17, first_name: 'Ann', plan: 'pro' } });
        const row = await shown(page, byTestId('delivery-row'), 'succeeded');
        assert(await page.evaluate(() => window.__sameDocument === true),
          'the page was reloaded');
        deliveryUuid = await row.evaluate((el) => el.getAttribute('data-uuid'));
        assert(receiver.seen.get(deliveryUuid) === 1,
          `the receiver got ${receiver.seen.get(deliveryUuid)} requests for ${deliveryUuid}`);
        // The chart and totals follow too.
        await shown(page, byTestId('webhook-totals'), '1 succeeded');
        assert(await count(page, `${byTestId('webhook-chart')} canvas`) === 1,
          'the webhook has no chart');
        await shoot(page, 'webhook.png');
      });

    await check('the delivery shows its attempt; "Retry now" adds a manual one', async () => {
      await click(page, `${byTestId('delivery-row')}[data-uuid="${deliveryUuid}"] a`);
      await shown(page, byTestId('delivery-uuid'), deliveryUuid);
      const attempts = byTestId('attempt-row');
      const [first] = await shownAll(page, attempts, 1);
      assert(await count(page, attempts) === 1, `${await count(page, attempts)} attempts, not 1`);
      assert(first.includes('200') && first.includes('{"received":true}'),
        `the attempt does not show the 200 and the response: ${first}`);
      assert((await textOf(page, byTestId('delivery-status'))) === 'succeeded',
        'the delivery is not succeeded');
      // The payload as the receiver got it, pretty-printed: the published fields show.
      const payload = await shown(page, byTestId('delivery-payload'), '"first_name": "Ann"');
      const shownPayload = await payload.evaluate((el) => el.textContent);
      assert(shownPayload.includes('\n  '), `the payload is not pretty-printed: ${shownPayload}`);
      const sent = receiver.bodies.get(deliveryUuid);
      assert(sent !== undefined && JSON.stringify(JSON.parse(shownPayload)) ===
        JSON.stringify(JSON.parse(sent)),
      `the page shows another payload than the receiver got: ${shownPayload} vs ${sent}`);
      await shoot(page, 'delivery.png');
      await page.evaluate(() => { window.__sameDocument = true; });
      await click(page, byTestId('retry-delivery'));
      const second = (await shownAll(page, attempts, 2))[1];
      assert(second.includes('manual') && second.includes('200'),
        `the new attempt is not a manual 200: ${second}`);
      assert(await page.evaluate(() => window.__sameDocument === true), 'the page was reloaded');
      assert(receiver.seen.get(deliveryUuid) === 2, 'the receiver did not get the retry');
    });

    await check('the list shows deliveries, failures and charts of each webhook', async () => {
      await publish('tok_acme', 'customer_created', { customer: { id: 18, first_name: 'Bo' } });
      await publish('tok_acme', 'customer_state_changed', { customer: { id: 18, state: 'vip' } });
      await publish('tok_acme', 'customer_created', { customer: { id: 19, first_name: 'Cy' } });
      await click(page, byTestId('nav-webhooks'));
      const failingRow = `${byTestId('webhook-row')}[data-webhook-id="${failing.id}"]`;
      await shown(page, `${failingRow} ${byTestId('webhook-last')}`, 'failed');
      const ordersRow = `${byTestId('webhook-row')}[data-webhook-id="${orders.id}"]`;
      await shown(page, `${ordersRow} ${byTestId('webhook-last')}`, 'succeeded');
      await shown(page, `${failingRow} td`, '0%');
      assert(await count(page, `${byTestId('webhook-chart')} canvas`) === 3,
        'not every row has its chart');
      await shoot(page, 'webhooks.png');
    });

    await check('a webhook named like markup shows as text and runs nothing', async () => {
      const name = '<img src=x onerror=alert(1)>';
      const w = await createWebhook('tok_acme', name, `${receiver.url}/x`, ['customer_created']);
      const link = `${byTestId('webhook-row')}[data-webhook-id="${w.id}"] ` +
        `${byTestId('webhook-name')}`;
      await shown(page, link); // polling brings it in
      assert((await textOf(page, link)) === name, `the name reads "${await textOf(page, link)}"`);
      assert(await count(page, 'img') === 0, 'an <img> element was made');
      await click(page, link);
      await shown(page, byTestId('webhook-title'), name);
      assert((await textOf(page, byTestId('webhook-title'))) === name,
        'the webhook page does not show the name as text');
      assert(await count(page, 'img') === 0, 'an <img> element was made');
    });

    // Beta's own webhook and delivery, made with beta's token.
    const betaHook = await createWebhook('tok_beta', 'Beta billing', `${receiver.url}/beta`,
      ['customer_subscribed']);
    await publish('tok_beta', 'customer_subscribed', { customer: { id: 1, plan: 'team' } });
    const link = await portalLink('tok_beta', { expires_in: '10m' });

    const beta = await newContext();
    const betaPage = await newPage(beta);
    watch(betaPage, 'beta');
    currentPage = betaPage;
    await check('a portal link opens beta\'s webhooks only, in a new browser context', async () => {
      const res = await betaPage.goto(link.url);
      assert(res.status() === 200 && new URL(betaPage.url()).pathname === '/portal/',
        `the link led to ${res.status()} ${betaPage.url()}`);
      await shown(betaPage, byTestId('who-account'), 'beta');
      await shown(betaPage, byTestId('who-via'), 'portal link');
      const row = `${byTestId('webhook-row')}[data-webhook-id="${betaHook.id}"]`;
      await shown(betaPage, `${row} ${byTestId('webhook-last')}`, 'succeeded');
      assert(await count(betaPage, byTestId('webhook-row')) === 1,
        'beta sees more than its one webhook');
      const text = await textOf(betaPage, byTestId('webhooks-table'));
      for (const acmeName of ['Orders to fulfilment', 'Signup notifications', 'Legacy CRM']) {
        assert(!text.includes(acmeName), `beta sees acme's "${acmeName}"`);
      }
      assert(await isVisible(betaPage, byTestId('new-webhook')),
        'a writable portal session has no "New webhook"');
      const cookies = await beta.cookies();
      const cookie = cookies.find((c) => c.name === 'hookd_portal');
      assert(cookie && cookie.httpOnly, 'no HttpOnly hookd_portal cookie');
      assert(await betaPage.evaluate(() => sessionStorage.length + localStorage.length === 0),
        'a portal session stored something in the page');
      await shoot(betaPage, 'portal-link.png');
    });

    const again = await newContext();
    const againPage = await newPage(again);
    watch(againPage, 'used link');
    currentPage = againPage;
    await check('the same link opened again is refused with 410 and the gone page', async () => {
      allowed = [{ status: 410, url: '/portal/session' }];
      const res = await againPage.goto(link.url);
      assert(res.status() === 410, `the used link answered ${res.status()}`);
      // A repeated header comes joined into one value: exactly one Cache-Control, no-store.
      const cache = res.headers()['cache-control'];
      assert(cache === 'no-store', `the gone page's Cache-Control is ${JSON.stringify(cache)}`);
      await shown(againPage, 'main', 'used already or has expired');
      assert(await count(againPage, byTestId('who-account')) === 0,
        'the used link opened the portal');
    });
    await again.close();

    const readOnlyLink = await portalLink('tok_beta', { read_only: true });
    const ro = await newContext();
    const roPage = await newPage(ro);
    watch(roPage, 'read-only');
    currentPage = roPage;
    await check('a read-only portal link hides every state-changing control', async () => {
      await roPage.goto(readOnlyLink.url);
      await shown(roPage, byTestId('who-via'), 'read-only');
      const row = `${byTestId('webhook-row')}[data-webhook-id="${betaHook.id}"]`;
      await shown(roPage, row);
      assert(await count(roPage, byTestId('new-webhook')) === 0, '"New webhook" is shown');
      await click(roPage, `${row} ${byTestId('webhook-name')}`);
      await shown(roPage, byTestId('webhook-title'));
      await shown(roPage, byTestId('delivery-row'));
      for (const id of ['edit-webhook', 'toggle-active', 'rotate-secret', 'delete-webhook',
        'recover-submit', 'recover-since']) {
        assert(await count(roPage, byTestId(id)) === 0, `"${id}" is shown`);
      }
      assert(await isVisible(roPage, byTestId('reveal-secret')),
        'reading the secret should stay possible');
      await click(roPage, `${byTestId('delivery-row')} a`);
      await shownAll(roPage, byTestId('attempt-row'), 1);
      assert(await count(roPage, byTestId('retry-delivery')) === 0, '"Retry now" is shown');
    });
    await ro.close();

    currentPage = page;
    await check('sign out forgets the token', async () => {
      await click(page, byTestId('sign-out'));
      await shown(page, byTestId('signin-form'));
      assert(await page.evaluate(() => sessionStorage.getItem('hookd.token') === null),
        'the token is still in sessionStorage');
      await page.evaluate(() => { window.__sameDocument = false; });
      allowed = [{ status: 401, url: '/api/v1/portal-session' }];
      await page.reload();
      await shown(page, byTestId('signin-form'));
    });

    console.log(`all ${checkNumber} checks passed`);
    return 0;
  } catch (e) {
    if (!(e instanceof CheckFailed)) console.log(`not ok - setup: ${e.stack || e.message}`);
    return 1;
  } finally {
    await closeBrowser(browser);
    await stopHookd(hookd);
    receiver.server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
