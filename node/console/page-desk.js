// #/inbox: a department's work: handovers to sign, cases in review, decisions to pass on.
// #/issuing: the issuing window's queue: results to receive, notify, deliver, forms to return.

import { api, h, replace, catalog, session, roleDepartment, departmentName, fmtTime, showError } from "./lib.js";
import { stepForms } from "./steps.js";

/** Cases one section asks for at most. */
const SECTION_LIMIT = 100;
/** Cases whose full view is fetched to see their handovers. */
const HANDOVER_VIEWS_MAX = 50;

async function list(query) {
  const q = new URLSearchParams({ ...query, limit: String(SECTION_LIMIT) });
  return (await api("GET", `/api/v1/cases?${q}`)).cases || [];
}

function caseTable(rows, cat, extra) {
  if (!rows.length) return h("p", { class: "empty" }, "暂无");
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, ["办件编号", "申请人", "事项", "部门", "状态", "接件时间", extra ? "办理" : null].filter(Boolean).map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      rows.map((c) =>
        h(
          "tr",
          { dataset: { case: c.id } },
          h("td", {}, h("a", { href: `#/case/${encodeURIComponent(c.id)}` }, c.id)),
          h("td", {}, c.applicant),
          h("td", {}, c.item_name),
          h("td", {}, departmentName(cat, c.department)),
          h("td", { dataset: { phase: c.phase } }, c.phase_zh),
          h("td", {}, fmtTime(c.received_at)),
          extra ? h("td", {}, extra(c)) : null,
        ),
      ),
    ),
  );
}

function section(title, key, content) {
  return h("section", { class: "card", "aria-label": title, dataset: { section: key } }, h("h2", {}, title), content);
}

export async function renderInbox(root) {
  const cat = await catalog();
  const me = session.me;
  const dept = roleDepartment(me);
  root.append(h("h1", {}, `部门待办 · ${departmentName(cat, dept)}`));
  const body = h("div");
  root.append(body);
  async function draw() {
    // Handovers to sign: accepted cases handed to this department and not yet signed for.
    const accepted = await list({ phase: "accepted" });
    const views = await Promise.all(
      accepted.slice(0, HANDOVER_VIEWS_MAX).map((c) => api("GET", `/api/v1/cases/${encodeURIComponent(c.id)}`).catch(() => null)),
    );
    const toSign = views.filter((v) => {
      const hv = v && (v.state.handovers || {})[dept];
      return hv && hv.handed_at && !hv.signed_at;
    });
    const review = await list({ phase: "in_review", department: dept });
    const decided = await list({ phase: "decided", department: dept });
    const signList = toSign.length
      ? h(
          "div",
          { class: "steps" },
          toSign.map((v) =>
            h(
              "div",
              { dataset: { case: v.id } },
              h("p", {}, h("a", { href: `#/case/${encodeURIComponent(v.id)}` }, v.id), ` ${v.header.applicant.name} · ${v.header.item.name}`),
              stepForms(v, me, cat, () => draw().catch(showError), { only: ["handover-sign"] }),
            ),
          ),
        )
      : h("p", { class: "empty" }, "暂无待签收的材料");
    replace(
      body,
      section(`待签收材料(${toSign.length})`, "to-sign", signList),
      section(`审查中(${review.length})`, "in-review", caseTable(review, cat)),
      section(`已决定,待转发证窗口或归档(${decided.length})`, "decided", caseTable(decided, cat)),
    );
  }
  await draw();
}

export async function renderIssuing(root) {
  const cat = await catalog();
  root.append(h("h1", {}, "统一发证"));
  const body = h("div");
  root.append(body);
  const [decided, arrived, notified, delivered] = await Promise.all([
    list({ phase: "decided" }),
    list({ phase: "at_issuing_window" }),
    list({ phase: "notified" }),
    list({ phase: "delivered" }),
  ]);
  replace(
    body,
    section(`待通知领取(${arrived.length})`, "at-issuing-window", caseTable(arrived, cat)),
    section(`已通知,待送达(${notified.length})`, "notified", caseTable(notified, cat)),
    section(`部门已决定,待转入发证窗口(${decided.length})`, "decided", caseTable(decided, cat)),
    section(`已送达(邮寄件须返还交接单)(${delivered.length})`, "delivered", caseTable(delivered, cat)),
  );
}
