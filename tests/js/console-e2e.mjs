// End-to-end scenarios of the web console in headless Chromium (playwright-core driving Debian's
// chromium; it downloads no browser). Run by node/tests/console.rs against a real node:
//
//   node console-e2e.mjs --base http://127.0.0.1:PORT --scenario case-walk|offline-banner|pages \
//        --staff clerk=clerk01,reviewer=bdc01,... --shots DIR [--timeout-ms N]
//
// The staff password comes in YIKOU_E2E_PASSWORD, the browser binary in YIKOU_CHROMIUM.
// Selectors follow the console's contract (node/console/README.md): `[data-page]` on each page's
// root, `nav [data-menu]` links, `#message[data-kind]`, `#offline-banner`, `[data-step]` buttons,
// `[data-case-id]`, `[data-phase]`, `[data-timeline] li`, labelled form fields.
// Exit code 0 = scenario passed; otherwise the reason is on stderr.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

// ---------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${a} needs a value`);
    out[a.slice(2)] = value;
    i += 1;
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
for (const required of ['base', 'scenario', 'staff', 'shots']) {
  if (!args[required]) {
    console.error(`missing --${required}`);
    process.exit(2);
  }
}
const BASE = args.base.replace(/\/$/, '');
const ORIGIN = new URL(BASE).origin;
const SHOTS = args.shots;
const PASSWORD = process.env.YIKOU_E2E_PASSWORD;
if (!PASSWORD) {
  console.error('YIKOU_E2E_PASSWORD is not set');
  process.exit(2);
}
const STAFF = Object.fromEntries(
  args.staff.split(',').map((pair) => {
    const [role, id] = pair.split('=');
    return [role, id];
  }),
);
const SCENARIO_MS_MAX = Number(args['timeout-ms'] ?? 100000);
/** How long one action or wait may take (ms). */
const STEP_MS_MAX = 15000;
/** How many Tab presses may separate two fields of the intake form at most. */
const TABS_MAX = 60;
mkdirSync(SHOTS, { recursive: true });

// ---------------------------------------------------------------------------------------------
// Browser, sessions and what every page must keep to

/** Requests to anything but the node, console errors and page errors, for every session. */
const violations = { foreign: [], consoleErrors: [], pageErrors: [] };

const executablePath = process.env.YIKOU_CHROMIUM || '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  headless: true,
  // As root in a container Chromium needs --no-sandbox; the rest keeps it from calling home
  // (refused connections on a closed network, DNS look-ups at every start).
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
  ],
});

let shotCount = 0;
/** The page last opened, screenshotted as `failure.png` when the scenario fails. */
let lastPage = null;

/** A fresh browser session (its own sessionStorage, so its own login) with the guards. */
async function newSession(label) {
  const context = await browser.newContext({
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    viewport: { width: 1280, height: 900 },
  });
  context.setDefaultTimeout(STEP_MS_MAX);
  // No request may leave the node: anything else is recorded and refused.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    let origin;
    try {
      origin = new URL(url).origin;
    } catch {
      origin = 'invalid';
    }
    if (origin === ORIGIN || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
    violations.foreign.push(`${label}: ${route.request().method()} ${url}`);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  lastPage = page;
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      const where = msg.location()?.url ?? '';
      violations.consoleErrors.push(`${label}: ${msg.text()} ${where}`.trim());
    }
  });
  page.on('pageerror', (err) => violations.pageErrors.push(`${label}: ${err.message}`));
  page.on('dialog', (d) => d.dismiss().catch(() => {}));
  return { context, page, label };
}

function log(line) {
  console.log(`[${new Date().toISOString().slice(11, 23)}] ${line}`);
}

function fail(message) {
  throw new Error(message);
}

async function shot(page, name) {
  const file = join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  shotCount += 1;
  return file;
}

/** The page whose root has `data-page="name"` is shown. */
async function onPage(page, name) {
  await page.locator(`[data-page="${name}"]`).first().waitFor({ state: 'visible' });
}

async function currentPage(page) {
  return page.locator('[data-page]:visible').first().getAttribute('data-page');
}

/** The message area's text when it reports an error, else null. */
async function errorMessage(page) {
  const msg = page.locator('#message[data-kind="error"]');
  if ((await msg.count()) === 0 || !(await msg.first().isVisible())) return null;
  return (await msg.first().innerText()).trim() || null;
}

/** Fails with the console's own error message when one is shown. */
async function noError(page, what) {
  const err = await errorMessage(page);
  if (err) fail(`${what}: the console reports an error: ${err}`);
}

/** Logs `role`'s staff member in on a fresh session; returns the session. */
async function login(role) {
  const staff = STAFF[role] ?? fail(`no staff given for role ${role}`);
  const session = await newSession(role);
  const { page } = session;
  await page.goto(`${BASE}/#/login`);
  await onPage(page, 'login');
  const form = page.locator('[data-page="login"]');
  await form.locator('input:not([type="password"]):not([type="hidden"])').first().fill(staff);
  await form.locator('input[type="password"]').first().fill(PASSWORD);
  await form.getByRole('button', { name: '登录' }).click();
  await page.waitForFunction(() => !document.querySelector('[data-page="login"]:not([hidden])')
    || document.querySelector('#message[data-kind="error"]'));
  await noError(page, `login of ${staff}`);
  await page.locator('nav [data-menu]').first().waitFor({ state: 'visible' });
  log(`${role} (${staff}) logged in, on page ${await currentPage(page)}`);
  return session;
}

/** The menu's links: [{ text, href }]. */
async function menuLinks(page) {
  return page.locator('nav [data-menu] a').evaluateAll((links) =>
    links.map((a) => ({ text: a.textContent.trim(), href: a.getAttribute('href') })));
}

/** Follows the menu link whose text is `text`; waits for the page to render. */
async function openMenu(page, text, pageName) {
  await page.locator('nav [data-menu] a', { hasText: text }).first().click();
  if (pageName) await onPage(page, pageName);
}

// ---------------------------------------------------------------------------------------------
// Keyboard helpers: the intake form is driven with Tab/Shift-Tab, Space, Enter, arrows and typing.

/** Presses Tab until `locator` has the focus (at most TABS_MAX presses). */
async function tabTo(page, locator, what) {
  const target = locator.first();
  await target.waitFor({ state: 'visible' });
  for (let i = 0; i <= TABS_MAX; i += 1) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press('Tab');
  }
  const focused = await page.evaluate(() => {
    const el = document.activeElement;
    return el ? `${el.tagName.toLowerCase()}#${el.id} ${el.getAttribute('name') ?? ''}` : 'nothing';
  });
  fail(`${what} is not reachable with Tab within ${TABS_MAX} presses (focus stays on ${focused})`);
}

/** Focuses a text field by Tab and types `text` into it (replacing what it held). */
async function typeInto(page, locator, text, what) {
  await tabTo(page, locator, what);
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Backspace');
  await page.keyboard.type(text);
}

/** Chooses `value` in a focused <select> with the arrow keys. */
async function chooseByKeys(page, select, value, what) {
  await tabTo(page, select, what);
  const options = await select.first().evaluate((el) => Array.from(el.options).map((o) => o.value));
  if (!options.includes(value)) fail(`${what} offers no ${value} (options: ${options.join(', ')})`);
  await page.keyboard.press('Home');
  for (let i = 0; i < options.length; i += 1) {
    if ((await select.first().inputValue()) === value) return;
    await page.keyboard.press('ArrowDown');
  }
  if ((await select.first().inputValue()) !== value) fail(`${what}: could not choose ${value} by keyboard`);
}

/** Sets a checkbox to `checked` by Tab and Space. */
async function checkByKeys(page, box, checked, what) {
  await tabTo(page, box, what);
  if ((await box.first().isChecked()) !== checked) await page.keyboard.press('Space');
  if ((await box.first().isChecked()) !== checked) fail(`${what}: Space did not toggle the checkbox`);
}

// ---------------------------------------------------------------------------------------------
// The case page

async function phaseOf(page) {
  return page.locator('[data-phase]').first().getAttribute('data-phase');
}

async function timelineLength(page) {
  return page.locator('[data-timeline] li').count();
}

/** Waits until the case page shows `phase` (and no error). */
async function expectPhase(page, phase, what) {
  try {
    await page.locator(`[data-phase="${phase}"]`).first().waitFor({ state: 'attached' });
  } catch (e) {
    const err = await errorMessage(page);
    fail(`${what}: expected phase ${phase}, the case page shows ${await phaseOf(page).catch(() => '?')}`
      + `${err ? ` (error: ${err})` : ''}`);
  }
}

/** Waits until the timeline has more than `before` entries. */
async function expectTimelineGrows(page, before, what) {
  try {
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-timeline] li').length > n,
      before,
      { timeout: STEP_MS_MAX },
    );
  } catch {
    const err = await errorMessage(page);
    fail(`${what}: the timeline did not grow past ${before} entries${err ? ` (error: ${err})` : ''}`);
  }
  return timelineLength(page);
}

/** Opens the case page of `id` in this session. */
async function openCase(page, id) {
  await page.goto(`${BASE}/#/case/${encodeURIComponent(id)}`);
  await onPage(page, 'case');
  await page.locator(`[data-case-id]`).first().waitFor({ state: 'visible' });
  const shown = (await page.locator('[data-case-id]').first().innerText()).trim();
  if (!shown.includes(id)) fail(`case page for ${id} shows case number ${shown}`);
  await page.locator('[data-timeline]').first().waitFor({ state: 'attached' });
}

/**
 * Does one case step on the case page: opens the step's form with its `[data-step]` button
 * when the form is closed, fills `fields` (label text → value; checkboxes take booleans), and
 * submits with the step's button; then checks the timeline grew and no error is shown.
 */
async function doStep(page, step, fields, what) {
  const before = await timelineLength(page);
  const button = page.locator(`[data-step="${step}"]`).first();
  await button.waitFor({ state: 'visible' }).catch(() =>
    fail(`${what}: no [data-step="${step}"] action on the case page for ${page.url()}`));
  const form = page.locator(`form:has([data-step="${step}"])`).first();
  const hasForm = (await form.count()) > 0;
  if (!hasForm && Object.keys(fields).length > 0) {
    // The button opens the step's form.
    await button.click();
  }
  const scope = (await form.count()) > 0 ? form : page.locator(`[data-step-form="${step}"]`).first();
  for (const [label, value] of Object.entries(fields)) {
    const field = scope.getByLabel(label, { exact: false }).first();
    await field.waitFor({ state: 'visible' }).catch(() => fail(`${what}: no field labelled ${label}`));
    const kind = await field.evaluate((el) => (el.tagName === 'SELECT' ? 'select' : el.type));
    if (kind === 'checkbox' || kind === 'radio') await field.setChecked(Boolean(value));
    else if (kind === 'select') await field.selectOption(value);
    else await field.fill(String(value));
  }
  const submit = (await form.count()) > 0
    ? form.locator(`[data-step="${step}"]`).first()
    : scope.locator('button[type="submit"], [data-step]').first();
  if (hasForm || Object.keys(fields).length === 0 || (await submit.count()) > 0) await submit.click();
  const after = await expectTimelineGrows(page, before, what);
  await noError(page, what);
  log(`  ${what}: phase ${await phaseOf(page)}, timeline ${before} → ${after}`);
  return after;
}

// ---------------------------------------------------------------------------------------------
// Scenarios

const scenarios = {
  'case-walk': caseWalk,
  'offline-banner': offlineBanner,
  pages,
};

async function caseWalk() {
  fail('case-walk: not written yet');
}

async function offlineBanner() {
  fail('offline-banner: not written yet');
}

/** Every role logs in and opens every page of its menu; each is screenshotted. */
async function pages() {
  for (const role of Object.keys(STAFF)) {
    const { context, page } = await login(role);
    const links = await menuLinks(page);
    if (links.length === 0) fail(`${role}: the menu has no links`);
    const seen = [];
    for (const link of links) {
      await page.locator('nav [data-menu] a', { hasText: link.text }).first().click();
      await page.waitForFunction((href) => !href || !href.startsWith('#') || window.location.hash === href,
        link.href);
      const name = await currentPage(page) ?? fail(`${role}: ${link.text} shows no [data-page]`);
      await page.waitForLoadState('networkidle');
      await noError(page, `${role} ${link.text}`);
      await shot(page, `${role}-${name}`);
      seen.push(`${link.text}(${name})`);
    }
    log(`${role}: ${seen.join(' ')}`);
    await context.close();
  }
}

// ---------------------------------------------------------------------------------------------

const run = scenarios[args.scenario] ?? (() => fail(`unknown scenario ${args.scenario}`));
const timer = setTimeout(() => {
  console.error(`scenario ${args.scenario} ran longer than ${SCENARIO_MS_MAX} ms`);
  process.exit(3);
}, SCENARIO_MS_MAX);
let code = 0;
const started = Date.now();
try {
  await run();
  const problems = [
    ...violations.foreign.map((v) => `request outside the node: ${v}`),
    ...violations.pageErrors.map((v) => `page error: ${v}`),
    ...violations.consoleErrors.map((v) => `console error: ${v}`),
  ];
  if (problems.length > 0) fail(`the pages did not keep to the node alone:\n  ${problems.join('\n  ')}`);
  log(`scenario ${args.scenario} passed in ${((Date.now() - started) / 1000).toFixed(1)} s, ${shotCount} screenshots`);
} catch (e) {
  console.error(`scenario ${args.scenario} failed: ${e.stack ?? e}`);
  if (lastPage) {
    const file = await shot(lastPage, 'failure').catch(() => null);
    if (file) console.error(`the page at the failure: ${file} (${lastPage.url()})`);
  }
  code = 1;
} finally {
  clearTimeout(timer);
  await browser.close().catch(() => {});
}
process.exit(code);
