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
    // The date fields show in the clerks' own format (年/月/日).
    '--lang=zh-CN',
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

const shotNames = new Set();

async function shot(page, name) {
  // A name taken twice would overwrite an earlier page's picture.
  if (shotNames.has(name) && name !== 'failure') fail(`screenshot ${name} taken twice`);
  shotNames.add(name);
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

/**
 * Follows menu link `link` ({ text, href }); waits until the hash is the link's and the page of
 * that route has rendered; answers the page's name.
 */
async function followMenu(page, link) {
  await page.locator('nav [data-menu] a', { hasText: link.text }).first().click();
  const route = (link.href ?? '').replace(/^#\/?/, '').split('/')[0];
  if (!route) fail(`menu link ${link.text} has no hash route (${link.href})`);
  await page.waitForFunction((href) => window.location.hash === href, link.href);
  await onPage(page, route).catch(() => fail(`menu link ${link.text} (${link.href}) shows no [data-page="${route}"]`));
  await page.waitForLoadState('networkidle');
  return route;
}

/** Follows the menu link whose text is `text`; waits for the page to render. */
async function openMenu(page, text, pageName) {
  await page.locator('nav [data-menu] a', { hasText: text }).first().click();
  if (pageName) await onPage(page, pageName);
}

// ---------------------------------------------------------------------------------------------
// Keyboard helpers: the intake form is driven with Tab/Shift-Tab, Space, Enter, arrows and typing.

/**
 * Presses Tab (or Shift+Tab when the target comes before the focus in document order) until
 * `locator` has the focus, at most TABS_MAX presses.
 */
async function tabTo(page, locator, what) {
  const target = locator.first();
  await target.waitFor({ state: 'visible' });
  for (let i = 0; i <= TABS_MAX; i += 1) {
    const where = await target.evaluate((el) => {
      const active = document.activeElement;
      if (el === active) return 'here';
      if (!active || active === document.body) return 'after';
      // eslint-disable-next-line no-bitwise
      return active.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_PRECEDING ? 'before' : 'after';
    });
    if (where === 'here') return;
    await page.keyboard.press(where === 'before' ? 'Shift+Tab' : 'Tab');
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
  const url = `${BASE}/#/case/${encodeURIComponent(id)}`;
  // The same hash again is no navigation: reload, so the page shows what others did meanwhile.
  if (page.url() === url) await page.reload();
  else await page.goto(url);
  await onPage(page, 'case');
  await page.locator(`[data-case-id]`).first().waitFor({ state: 'visible' });
  const shown = (await page.locator('[data-case-id]').first().innerText()).trim();
  if (!shown.includes(id)) fail(`case page for ${id} shows case number ${shown}`);
  await page.locator('[data-timeline]').first().waitFor({ state: 'attached' });
}

/**
 * Does one case step with the mouse: fills `fields` of the step's form
 * (`[data-step-form="step"]`; label text → value, checkboxes take booleans) and clicks its
 * `[data-step]` button; then checks the timeline grew (on the case page) and no error is shown.
 */
async function doStep(page, step, fields, what) {
  const onCasePage = (await page.locator('[data-page="case"]').count()) > 0;
  const before = onCasePage ? await timelineLength(page) : 0;
  const form = page.locator(`[data-step-form="${step}"]`).first();
  await form.waitFor({ state: 'visible' }).catch(async () =>
    fail(`${what}: no [data-step-form="${step}"] on ${page.url()} (phase ${await phaseOf(page).catch(() => '?')})`));
  for (const [label, value] of Object.entries(fields)) {
    const field = form.getByLabel(label, { exact: false }).first();
    await field.waitFor({ state: 'visible' }).catch(() => fail(`${what}: no field labelled ${label}`));
    const kind = await field.evaluate((el) => (el.tagName === 'SELECT' ? 'select' : el.type));
    if (kind === 'checkbox' || kind === 'radio') await field.setChecked(Boolean(value));
    else if (kind === 'select') await field.selectOption(String(value));
    else await field.fill(String(value));
  }
  await form.locator(`[data-step="${step}"]`).click();
  if (onCasePage) {
    const after = await expectTimelineGrows(page, before, what);
    await noError(page, what);
    log(`  ${what}: phase ${await phaseOf(page)}, timeline ${before} → ${after}`);
    return after;
  }
  await page.locator(`#message[data-kind="ok"]`).waitFor({ state: 'visible' });
  await noError(page, what);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Scenarios

const scenarios = {
  'case-walk': caseWalk,
  'offline-banner': offlineBanner,
  pages,
};

const APPLICANT = { id: '11010519491231002X', name: '张三', phone: '13800000000' };
const BDC001_MATERIALS = ['M01', 'M02', 'M03', 'M04', 'M05', 'M06'];

/**
 * Fills the window's intake form by keyboard alone (Tab/Shift-Tab to move, arrows in the item
 * list, typing, Space for the material boxes, Enter to submit): item BDC001, the applicant, the
 * materials `present`. Checks the live eligibility answer is `expectAnswer` before submitting.
 * Answers the new case's number.
 */
async function intakeByKeyboard(page, present, expectAnswer, shotName) {
  const form = page.locator('form[data-intake]');
  await form.waitFor({ state: 'visible' });
  const item = form.getByLabel('办理事项');
  // The first field has the focus when the page opens (or after 取号, Shift+Tab brings it back).
  await chooseByKeys(page, item, 'BDC001', '办理事项');
  await page.locator('[data-materials] [data-material="M01"]').waitFor({ state: 'visible' });
  await typeInto(page, form.getByLabel('申请人证件号码'), APPLICANT.id, '申请人证件号码');
  await typeInto(page, form.getByLabel('申请人姓名'), APPLICANT.name, '申请人姓名');
  await typeInto(page, form.getByLabel('联系电话'), APPLICANT.phone, '联系电话');
  for (const code of BDC001_MATERIALS) {
    const box = page.locator(`[data-materials] input[type="checkbox"][data-material="${code}"]`);
    await checkByKeys(page, box, present.includes(code), `材料 ${code}`);
  }
  // The answer comes live from the node as the form changes.
  const answer = page.locator(`[data-eligibility][data-answer="${expectAnswer}"]`);
  await answer.waitFor({ state: 'visible' }).catch(async () => fail(`live eligibility answer is not ${expectAnswer}: `
    + `${await page.locator('[data-eligibility]').innerText().catch(() => '?')}`));
  const answerText = (await answer.innerText()).replace(/\s+/g, ' ');
  log(`  live eligibility: ${answerText}`);
  if (shotName) await shot(page, shotName);
  // Enter in a text field submits the form (接件).
  await tabTo(page, form.getByLabel('申请人姓名'), '申请人姓名');
  await page.keyboard.press('Enter');
  const idEl = page.locator('[data-intake-result] [data-case-id]');
  await idEl.waitFor({ state: 'visible' }).catch(async () =>
    fail(`接件 gave no case number (message: ${await errorMessage(page)})`));
  const id = (await idEl.innerText()).trim();
  await page.locator('[data-intake-result] [data-phase="received"]').waitFor({ state: 'visible' });
  log(`  接件 by keyboard: case ${id}, phase received; ${answerText.includes('M06') ? 'M06 to be promised' : ''}`);
  return { id, answerText };
}

/** Opens the case page and checks its phase and timeline; answers the timeline length. */
async function checkCase(page, id, phase, minTimeline, what) {
  await openCase(page, id);
  await expectPhase(page, phase, what);
  const n = await timelineLength(page);
  if (n < minTimeline) fail(`${what}: the timeline has ${n} entries, expected at least ${minTimeline}`);
  return n;
}

async function caseWalk() {
  // 1. The window: a queue number, then the intake form by keyboard.
  const clerk = await login('clerk');
  const cp = clerk.page;
  await onPage(cp, 'window');
  const focused = await cp.evaluate(() => document.activeElement?.getAttribute('name'));
  if (focused !== 'item') fail(`the window page should focus its first field (办理事项), focus is on ${focused}`);
  await cp.locator('form[aria-label="取号"]').getByRole('button', { name: '取号' }).click();
  const ticket = cp.locator('[data-ticket]');
  await cp.waitForFunction(() => (document.querySelector('[data-ticket]')?.textContent ?? '').trim() !== '');
  log(`  queue number ${(await ticket.innerText()).trim()}`);
  await noError(cp, '取号');
  await shot(cp, '01-window-ticket');

  const { id, answerText } = await intakeByKeyboard(cp, ['M01', 'M02', 'M03', 'M04', 'M05'], 'eligible',
    '02-window-intake-eligibility');
  if (!answerText.includes('可以容缺受理') || !answerText.includes('M06')) {
    fail(`the live answer should offer tolerance with M06 promised: ${answerText}`);
  }
  await shot(cp, '03-window-received');

  // 2. 容缺受理 with the commitment (its form is pre-filled from the live answer), by keyboard.
  const tolerance = cp.locator('[data-step-form="tolerance-accept"]');
  await tolerance.waitFor({ state: 'visible' });
  const promised = tolerance.locator('input[type="checkbox"][data-material="M06"]');
  if (!(await promised.isChecked())) fail('the commitment form should promise M06, the missing material');
  const deadline = await tolerance.getByLabel('补交期限').inputValue();
  if (!deadline) fail('the commitment form should carry the latest allowed deadline');
  await tabTo(cp, tolerance.locator('[data-step="tolerance-accept"]'), '容缺受理');
  await cp.keyboard.press('Enter');
  await cp.locator('[data-intake-result] [data-phase="accepted"]').waitFor({ state: 'visible' }).catch(async () =>
    fail(`容缺受理 did not accept the case (message: ${await errorMessage(cp)})`));
  log(`  容缺受理: commitment M06 by ${deadline}`);

  // The commitment's print preview (three copies) in its iframe.
  await cp.locator('[data-intake-result] [data-document="commitment"]').click();
  const preview = cp.locator('[data-print-preview="commitment"]');
  await preview.waitFor({ state: 'visible' });
  const doc = cp.frameLocator('[data-print-frame="commitment"]').locator('body');
  await doc.waitFor({ state: 'attached' });
  const docText = await doc.innerText();
  if (!docText.includes('承诺书') || !docText.includes(id)) fail('the commitment preview shows no commitment of this case');
  await preview.getByRole('button', { name: '打印' }).waitFor({ state: 'visible' });
  await shot(cp, '04-commitment-print-preview');
  await preview.getByRole('button', { name: '关闭' }).click();
  await preview.waitFor({ state: 'detached' });

  // 3. The case page: 材料移交 to BDCDJ.
  let n = await checkCase(cp, id, 'accepted', 2, 'after 容缺受理');
  n = await doStep(cp, 'handover', { 移交部门: 'BDCDJ', 纸质材料: true }, '材料移交');
  await expectPhase(cp, 'accepted', '材料移交');
  await shot(cp, '05-case-handed-over');

  // 4. The department signs from its inbox.
  const reviewer = await login('reviewer');
  const rp = reviewer.page;
  await onPage(rp, 'inbox');
  const row = rp.locator(`[data-page="inbox"] [data-section="to-sign"] [data-case="${id}"]`);
  await row.waitFor({ state: 'visible' }).catch(() => fail(`the BDCDJ inbox lists no handover of ${id} to sign`));
  await shot(rp, '06-inbox-handover-to-sign');
  const signHere = row.locator('[data-step="handover-sign"]');
  await signHere.waitFor({ state: 'visible' }).catch(() =>
    fail(`the inbox entry of ${id} has no [data-step="handover-sign"] action`));
  await signHere.click();
  await row.waitFor({ state: 'detached' }).catch(async () =>
    fail(`the signed handover of ${id} stays in the inbox (message: ${await errorMessage(rp)})`));
  await noError(rp, '签收 from the inbox');
  await rp.locator(`[data-section="in-review"] [data-case="${id}"]`).waitFor({ state: 'visible' }).catch(() =>
    fail(`after signing, the inbox does not list ${id} in review`));
  n = await checkCase(rp, id, 'in_review', n + 1, 'after 签收');
  await shot(rp, '07-case-in-review');

  // 5. The window records the supplied material (M06).
  await openCase(cp, id);
  n = await doStep(cp, 'supplements', { 'M06': true }, '接收补交材料 M06');
  await expectPhase(cp, 'in_review', '补交');
  const supplied = await cp.locator('[data-page="case"]').innerText();
  if (!supplied.includes('材料接收清单')) fail('the case offers no 材料接收清单 after the supplement');
  await shot(cp, '08-case-supplied');

  // 6. The department: proposed decision, decision, result to the issuing window.
  await openCase(rp, id);
  n = await doStep(rp, 'proposed-decision', { 拟审批结论: 'true', 审查意见: '补齐材料后审查通过' }, '拟审批意见');
  await expectPhase(rp, 'in_review', '拟审批意见');
  n = await doStep(rp, 'decision', { 决定: 'approve', 准予结果: '准予登记,颁发不动产权证书' }, '审批决定');
  await expectPhase(rp, 'decided', '审批决定');
  await shot(rp, '09-case-decided');
  n = await doStep(rp, 'result-to-issuing', { 交接登记: '发证交接登记簿第1号' }, '转交发证窗口');
  await expectPhase(rp, 'at_issuing_window', '转交发证窗口');

  // 7. The issuing window: its queue, notification, delivery.
  const issuing = await login('issuing');
  const ip = issuing.page;
  await onPage(ip, 'issuing');
  const queued = ip.locator(`[data-page="issuing"] [data-section="at-issuing-window"] [data-case="${id}"]`);
  await queued.waitFor({ state: 'visible' }).catch(() => fail(`the issuing window's queue does not list ${id}`));
  await shot(ip, '10-issuing-queue');
  await openCase(ip, id);
  n = await doStep(ip, 'notify', {}, '通知领取');
  await expectPhase(ip, 'notified', '通知领取');
  n = await doStep(ip, 'deliver', { 送达方式: 'pickup', 领取人签名: APPLICANT.name }, '送达');
  await expectPhase(ip, 'delivered', '送达');
  const kinds = await ip.locator('[data-timeline] li').evaluateAll((lis) => lis.map((li) => li.dataset.event));
  log(`  timeline: ${kinds.join(' → ')}`);
  const expected = ['received', 'tolerance_accepted', 'handed_over', 'handover_signed', 'supplement_received',
    'proposed_decision', 'decided', 'result_to_issuing', 'notified', 'delivered'];
  if (JSON.stringify(kinds) !== JSON.stringify(expected)) {
    fail(`timeline ${kinds.join(',')} is not ${expected.join(',')}`);
  }
  if (n !== expected.length) fail(`timeline length ${n}, expected ${expected.length}`);
  await shot(ip, '11-case-delivered');
}

async function offlineBanner() {
  const clerk = await login('clerk');
  const { page } = clerk;
  const banner = page.locator('#offline-banner');
  await banner.waitFor({ state: 'visible' }).catch(() => fail('#offline-banner did not show with the hall unreachable'));
  const text = (await banner.innerText()).trim();
  for (const part of ['本节点暂时与大厅断开', '受理照常进行', '恢复联网后自动同步']) {
    if (!text.includes(part)) fail(`the offline banner says "${text}", missing "${part}"`);
  }
  log(`  banner: ${text}`);
  await onPage(page, 'window');
  await shot(page, '01-window-offline');
  // Intake continues: a complete application, received and accepted here.
  // With every material present the node answers "nothing to tolerate, accept normally" (T1).
  const { id } = await intakeByKeyboard(page, BDC001_MATERIALS, 'not_eligible', null);
  const reasons = await page.locator('[data-eligibility] [data-reasons] li').evaluateAll((lis) =>
    lis.map((li) => li.dataset.code));
  if (!reasons.includes('tolerance.nothing_missing')) fail(`complete materials should answer nothing_missing: ${reasons}`);
  await doStep(page, 'accept', {}, '受理');
  await page.locator('[data-intake-result] [data-phase="accepted"]').waitFor({ state: 'visible' });
  if (!(await banner.isVisible())) fail('the banner went away while the hall is still unreachable');
  await shot(page, '02-window-accepted-offline');
  // The banner is on every page.
  for (const link of await menuLinks(page)) {
    const name = await followMenu(page, link);
    await banner.waitFor({ state: 'visible' }).catch(() => fail(`no offline banner on ${link.text}`));
    await shot(page, `03-${name}-offline`);
  }
  await checkCase(page, id, 'accepted', 2, 'accepted while offline');
  if (!(await banner.isVisible())) fail('no offline banner on the case page');
  await shot(page, '04-case-offline');
}

/**
 * Proves the guards are live (a guard that cannot fire proves nothing): a request to another
 * origin (loopback, and refused before it leaves anyway) and a console error are both caught.
 */
async function guardSelfCheck() {
  const { context, page } = await newSession('guard-check');
  // A blank page (the console's own CSP would refuse the request before the guard sees it).
  await page.setContent('<p>guard check</p>');
  await page.evaluate(() => fetch('http://127.0.0.2:9/guard-check').catch(() => null));
  await page.evaluate(() => console.error('guard-check'));
  const caught = violations.foreign.some((v) => v.includes('guard-check'))
    && violations.consoleErrors.some((v) => v.includes('guard-check'));
  if (!caught) fail(`the guards did not catch a foreign request and a console error: ${JSON.stringify(violations)}`);
  for (const list of Object.values(violations)) list.splice(0, list.length);
  await context.close();
  log('guards live: a foreign request and a console error are caught');
}

/** The page each role lands on after login (the first of its menu), where the contract says. */
const HOME = { clerk: 'window', reviewer: 'inbox', issuing: 'issuing', supervisor: 'supervision' };

/**
 * Every role logs in and opens every page of its menu, then a case from the case list; each
 * page is screenshotted (`<role>-<page>.png`).
 */
async function pages() {
  await guardSelfCheck();
  for (const role of Object.keys(STAFF)) {
    const { context, page } = await login(role);
    const links = await menuLinks(page);
    if (links.length === 0) fail(`${role}: the menu has no links`);
    const seen = [];
    for (const link of links) {
      const name = await followMenu(page, link);
      await noError(page, `${role} ${link.text}`);
      await shot(page, `${role}-${name}`);
      seen.push(`${link.text}(${name})`);
    }
    const names = seen.map((x) => x.replace(/^.*\((.*)\)$/, '$1'));
    if (HOME[role] && names[0] !== HOME[role]) fail(`${role}: the menu should start with ${HOME[role]}: ${seen}`);
    for (const always of ['cases', 'network']) {
      if (!names.includes(always)) fail(`${role}: the menu lacks ${always}: ${seen}`);
    }
    // A case from the list (the node has the seeded ones).
    await openMenu(page, '办件查询', 'cases');
    const link = page.locator('[data-page="cases"] a[href^="#/case/"]').first();
    await link.waitFor({ state: 'visible' }).catch(() => fail(`${role}: the case list shows no case`));
    await link.click();
    await onPage(page, 'case');
    await page.locator('[data-timeline] li').first().waitFor({ state: 'visible' });
    await page.waitForLoadState('networkidle');
    await noError(page, `${role} case page`);
    await shot(page, `${role}-case`);
    log(`${role}: ${seen.join(' ')} + case page`);
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
  ];
  // Every page in its resting state must log no error. In the walks, a refused request (e.g. the
  // live eligibility asked before the form is complete) is logged by Chromium as an error: those
  // are only reported.
  const consoleErrors = violations.consoleErrors.map((v) => `console error: ${v}`);
  if (args.scenario === 'pages') problems.push(...consoleErrors);
  else consoleErrors.forEach((line) => log(`(reported only) ${line}`));
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
