// The console's shell: hash routes, the role's menu, the offline banner, the session.
//
// A page is a module exporting `render(root, params)`; `root` is the page's
// `<section data-page="name">`, already in <main>. To add a page: write page-x.js, import it
// below and add it to PAGES (and to the menus of the roles that may see it).

import { api, h, replace, session, roleName, message, clearMessage, showError, setUnauthorizedHandler, navigate, takeKeepMessage } from "./lib.js";
import * as login from "./page-login.js";
import * as windowPage from "./page-window.js";
import * as cases from "./page-cases.js";
import * as desk from "./page-desk.js";
import * as supervision from "./page-supervision.js";
import * as network from "./page-network.js";

/** Every page: its Chinese name (the menu link's text) and its renderer. */
const PAGES = {
  login: { title: "登录", render: login.render, public: true },
  window: { title: "窗口受理", render: windowPage.render },
  cases: { title: "办件查询", render: cases.renderList },
  case: { title: "办件详情", render: cases.renderCase },
  inbox: { title: "部门待办", render: desk.renderInbox },
  issuing: { title: "统一发证", render: desk.renderIssuing },
  supervision: { title: "电子监察", render: supervision.renderSupervision },
  reports: { title: "统计报表", render: supervision.renderReports },
  network: { title: "网络状态", render: network.render },
};

/** The menu of each role (the first entry is its home page). */
const MENUS = {
  window_clerk: ["window", "cases", "network"],
  department_reviewer: ["inbox", "cases", "supervision", "reports", "network"],
  issuing_window: ["issuing", "cases", "network"],
  hall_centre: ["cases", "supervision", "reports", "network"],
  supervisor: ["supervision", "cases", "reports", "network"],
  auditor: ["cases", "supervision", "reports", "network"],
};

/** Pages a role may open without their being in its menu (reached by links). */
const ALWAYS = ["case", "cases", "network"];

/** How often the node's status is asked (the offline banner). */
const STATUS_POLL_MS = 5000;

function menuOf(me) {
  return MENUS[roleName(me)] || ["cases", "network"];
}

function home() {
  const me = session.me;
  return me ? `#/${menuOf(me)[0]}` : "#/login";
}

/** `#/case/410184…` → { name: "case", params: ["410184…"] }. */
function parseHash() {
  const path = (location.hash || "").replace(/^#\/?/, "");
  const [name, ...params] = path.split("/").map((s) => decodeURIComponent(s));
  return { name: name || "", params };
}

function renderMenu(current) {
  const menu = document.querySelector("nav [data-menu]");
  const who = document.querySelector("[data-who]");
  const me = session.me;
  if (!me) {
    replace(menu);
    replace(who);
    return;
  }
  replace(
    menu,
    menuOf(me).map((name) =>
      h(
        "li",
        {},
        h("a", { href: `#/${name}`, "aria-current": name === current ? "page" : undefined }, PAGES[name].title),
      ),
    ),
  );
  replace(
    who,
    h("span", {}, `${me.name}(${me.role_zh})`),
    h("button", { type: "button", dataset: { logout: "" }, onclick: logout }, "退出"),
  );
}

async function logout() {
  try {
    await api("POST", "/api/v1/auth/logout");
  } catch {
    // The session may already be gone; logging out locally is what matters.
  }
  session.clear();
  message("ok", "已退出登录");
  navigate("#/login");
}

let renderSerial = 0;


async function route() {
  const { name, params } = parseHash();
  const me = session.me;
  if (!PAGES[name]) {
    navigate(home(), { replace: true });
    return;
  }
  if (!PAGES[name].public && !session.token) {
    navigate("#/login", { replace: true });
    return;
  }
  if (name === "login" && session.token && me) {
    navigate(home(), { replace: true });
    return;
  }
  if (me && !PAGES[name].public && !menuOf(me).includes(name) && !ALWAYS.includes(name)) {
    message("error", `「${me.role_zh}」不使用「${PAGES[name].title}」页面`);
    navigate(home(), { replace: true });
    return;
  }
  const serial = ++renderSerial;
  renderMenu(name);
  const main = document.getElementById("main");
  const root = h("section", { dataset: { page: name }, "aria-label": PAGES[name].title });
  replace(main, root);
  document.title = `${PAGES[name].title} · 一口受理`;
  try {
    await PAGES[name].render(root, params);
  } catch (e) {
    if (serial === renderSerial) showError(e);
  }
  if (serial === renderSerial && !root.contains(document.activeElement)) {
    // The page chose no field to focus: focus the main area, so keyboard users start here.
    const first = root.querySelector("[autofocus]");
    (first || main).focus();
  }
  pollStatus();
}

let pollTimer = null;

/** Asks the node whether it is cut off; shows or hides the banner. */
async function pollStatus() {
  clearTimeout(pollTimer);
  if (!session.token) {
    document.getElementById("offline-banner").hidden = true;
    return;
  }
  try {
    const status = await api("GET", "/api/v1/status");
    document.getElementById("offline-banner").hidden = !status.offline;
    const node = document.querySelector("[data-node]");
    if (node) node.textContent = `${status.node}(${status.role === "hall" ? "大厅" : "乡镇"})`;
  } catch {
    // A failed poll leaves the banner as it was; the next one tries again.
  }
  pollTimer = setTimeout(pollStatus, STATUS_POLL_MS);
}

setUnauthorizedHandler(() => {
  message("error", "登录已失效,请重新登录");
  if (parseHash().name !== "login") navigate("#/login");
});

window.addEventListener("hashchange", () => {
  if (!takeKeepMessage()) clearMessage();
  route();
});
route();
