// Shared helpers of the console: the session, API calls, DOM building, the message area.
// No HTML strings are ever parsed: every node is built with `h`, so text from
// the API is always text.

const TOKEN_KEY = "yikou.token";
const ME_KEY = "yikou.me";

/** The login session in sessionStorage (gone when the tab closes). */
export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  },
  get me() {
    try {
      return JSON.parse(sessionStorage.getItem(ME_KEY) || "null");
    } catch {
      return null;
    }
  },
  start(token, me) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(ME_KEY, JSON.stringify(me));
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ME_KEY);
  },
};

/** The role's name without its department: `window_clerk`, `department_reviewer`, … */
export function roleName(me) {
  return (me && me.role && me.role.role) || "";
}

/** The department of a department reviewer, else "". */
export function roleDepartment(me) {
  return (me && me.role && me.role.department) || "";
}

/** A refusal of the API: the problem's `detail`, `rule` and `code`. */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && problem.detail) || `请求失败(${status})`);
    this.status = status;
    this.problem = problem || {};
  }
}

/** Where a 401 sends the user (set by app.js). */
let onUnauthorized = () => {};
export function setUnauthorizedHandler(f) {
  onUnauthorized = f;
}

/**
 * Calls the API with the session's bearer token. `body` is sent as JSON. Answers the parsed JSON
 * (or the raw Response when `raw` is set). Throws ApiError with the problem details on refusal;
 * a 401 also ends the session and goes back to the login page.
 */
export async function api(method, path, body, { raw = false, accept } = {}) {
  const headers = {};
  if (session.token) headers["Authorization"] = `Bearer ${session.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (accept) headers["Accept"] = accept;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, { detail: "无法连接本节点服务,请检查本机节点程序是否在运行", code: "console.unreachable" });
  }
  if (!response.ok) {
    let problem = null;
    try {
      problem = await response.json();
    } catch {
      problem = null;
    }
    if (response.status === 401 && path !== "/api/v1/auth/login") {
      session.clear();
      onUnauthorized();
    }
    throw new ApiError(response.status, problem);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

/**
 * Builds an element: `h("button", { type: "submit", dataset: { step: "accept" }, onclick }, "受理")`.
 * Attributes: `class`, `for`, `dataset`, `on<event>` functions, booleans (`checked`, `disabled`,
 * `hidden`, `required`), anything else as an attribute. Children: nodes, strings, arrays, null.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "dataset") {
      for (const [k, v] of Object.entries(value)) if (v !== undefined && v !== null) el.dataset[k] = String(v);
    } else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "value") {
      el.value = value;
    } else if (key === "checked" || key === "selected") {
      el[key] = Boolean(value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces every child of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let fieldSerial = 0;
/** A fresh id for a form control (labels point at it with `for`). */
export function fieldId(name) {
  fieldSerial += 1;
  return `f-${name}-${fieldSerial}`;
}

/** A labelled control: `<div class="field"><label for=id>text</label>control</div>`. */
export function field(text, control, hint) {
  if (!control.id) control.id = fieldId(control.name || "x");
  return h(
    "div",
    { class: "field" },
    h("label", { for: control.id }, text),
    control,
    hint ? h("small", { class: "hint" }, hint) : null,
  );
}

/** A labelled checkbox (label after the box). */
export function checkbox(text, attrs = {}) {
  const box = h("input", { type: "checkbox", ...attrs });
  if (!box.id) box.id = fieldId(attrs.name || "c");
  return { box, el: h("div", { class: "check" }, box, h("label", { for: box.id }, text)) };
}

/** A `<select>` from `[value, text]` pairs. */
export function select(attrs, options, selected) {
  return h(
    "select",
    attrs,
    options.map(([value, text]) => h("option", { value, selected: value === selected }, text)),
  );
}

/** Shows a message in `#message` (`role="status"`, `data-kind="ok|error"`). */
export function message(kind, text) {
  const el = document.getElementById("message");
  if (!el) return;
  el.dataset.kind = kind;
  el.textContent = text;
  el.hidden = !text;
}

export function clearMessage() {
  message("ok", "");
}

/** Shows an error: a problem's detail and the rule it rests on. */
export function showError(e) {
  if (e instanceof ApiError) {
    const p = e.problem || {};
    const parts = [p.detail || e.message];
    if (Array.isArray(p.errors) && p.errors.length > 1) {
      for (const d of p.errors) if (d && d.message && d.message !== p.detail) parts.push(d.message);
    }
    if (p.rule) parts.push(`(依据 ${p.rule})`);
    message("error", parts.join(" "));
  } else {
    message("error", `出错了:${e && e.message ? e.message : e}`);
  }
}

/** Runs `f` and shows its error, if any; answers its value or undefined. */
export async function attempt(f) {
  try {
    return await f();
  } catch (e) {
    showError(e);
    return undefined;
  }
}

/** `2026-03-10T09:00:00.123` → `2026-03-10 09:00`. */
export function fmtTime(s) {
  if (!s) return "—";
  return String(s).replace("T", " ").slice(0, 16);
}

/** Milliseconds since the epoch → local `YYYY-MM-DD HH:MM:SS`. */
export function fmtMs(ms) {
  if (ms === null || ms === undefined) return "从未";
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Today as `YYYY-MM-DD` (local), moved by `days`. */
export function isoDay(days = 0) {
  const d = new Date(Date.now() + days * 86400000);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** Non-empty trimmed lines of a textarea. */
export function lines(text) {
  return String(text || "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}

/** The catalog, fetched once per session. */
let catalogPromise = null;
export function catalog() {
  if (!catalogPromise) {
    catalogPromise = api("GET", "/api/v1/catalog").catch((e) => {
      catalogPromise = null;
      throw e;
    });
  }
  return catalogPromise;
}

export function forgetCatalog() {
  catalogPromise = null;
}

/** A department's name from the catalog (the code when unknown). */
export function departmentName(cat, code) {
  const d = cat && (cat.departments || []).find((x) => x.code === code);
  return d ? d.name : code;
}

/** Phases of a case (serde names) with their Chinese names. */
export const PHASES = [
  ["new", "新建"],
  ["received", "已接件"],
  ["pre_accepted", "预受理通过"],
  ["awaiting_correction", "待补正"],
  ["accepted", "已受理"],
  ["in_review", "审查中"],
  ["decided", "已决定"],
  ["at_issuing_window", "待发证"],
  ["notified", "已通知领取"],
  ["delivered", "已送达"],
  ["archived", "已归档"],
  ["not_accepted", "不予受理"],
  ["reported_upward", "已上报"],
  ["withdrawn", "已撤回"],
];

export const LEVELS = [
  ["warning", "预警"],
  ["yellow", "黄牌"],
  ["red", "红牌"],
];

/** Set when the message shown now should survive the next navigation (see `navigate`). */
let keepMessage = false;

/** Goes to `hash`, keeping the message shown now (e.g. "已接件" before opening the case). */
export function navigate(hash, { replace: replaceEntry = false } = {}) {
  keepMessage = true;
  if (replaceEntry) location.replace(hash);
  else location.hash = hash;
}

/** Was the last navigation asked to keep the message? (Answers once.) */
export function takeKeepMessage() {
  const keep = keepMessage;
  keepMessage = false;
  return keep;
}
