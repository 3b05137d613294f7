// #/cases: the case list with filters (the API's indexes) and a search over the loaded list.
// #/case/{id}: one case: its phase, timeline, deadlines, cards, conflicts, documents, and the
// steps the member of staff may take now.

import { api, h, field, select, replace, showError, catalog, session, navigate, fmtTime, departmentName, PHASES } from "./lib.js";
import { stepForms } from "./steps.js";
import { documentButtons } from "./print.js";

/** Cases one list asks for. */
const LIST_LIMIT = 200;

export async function renderList(root, params) {
  const cat = await catalog();
  root.append(h("h1", {}, "办件查询"));
  const phase = select({ name: "phase" }, [["", "全部"], ...PHASES], "");
  const applicant = h("input", { type: "text", name: "applicant", autocomplete: "off" });
  const item = select({ name: "item" }, [["", "全部"], ...(cat.items || []).map((i) => [i.code, `${i.code} ${i.name}`])], "");
  const department = select({ name: "department" }, [["", "全部"], ...(cat.departments || []).map((d) => [d.code, d.name])], "");
  const due = h("input", { type: "date", name: "due" });
  const scope = h("input", { type: "text", name: "scope", autocomplete: "off" });
  const search = h("input", { type: "search", name: "search", autocomplete: "off", dataset: { search: "" } });
  const open = h("input", { type: "text", name: "case-id", autocomplete: "off" });
  const submit = h("button", { type: "submit" }, "查询");
  const form = h(
    "form",
    { class: "card", "aria-label": "查询条件" },
    h(
      "div",
      { class: "grid" },
      field("办件状态", phase),
      field("申请人证件号码", applicant),
      field("办理事项", item),
      field("承办部门", department),
      field("承诺办结日期", due),
      field("所属节点编码", scope),
    ),
    h("div", { class: "actions" }, submit),
  );
  const openForm = h(
    "form",
    { class: "card", "aria-label": "按编号打开" },
    h("div", { class: "grid" }, field("办件编号", open), field("在结果中搜索(编号、申请人、事项)", search)),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "打开办件")),
  );
  openForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (open.value.trim()) navigate(`#/case/${encodeURIComponent(open.value.trim())}`);
  });
  const table = h("div", { dataset: { caseList: "" } });
  root.append(form, openForm, table);

  let rows = [];
  function draw() {
    const q = search.value.trim().toLowerCase();
    const shown = q
      ? rows.filter((c) => [c.id, c.applicant, c.item, c.item_name].some((v) => String(v).toLowerCase().includes(q)))
      : rows;
    if (!shown.length) {
      replace(table, h("p", { class: "empty" }, "没有符合条件的办件"));
      return;
    }
    replace(
      table,
      h(
        "table",
        {},
        h("caption", { class: "hint" }, `共 ${shown.length} 件`),
        h("thead", {}, h("tr", {}, ["办件编号", "申请人", "事项", "部门", "状态", "接件时间", "冲突"].map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          shown.map((c) =>
            h(
              "tr",
              { dataset: { case: c.id } },
              h("td", {}, h("a", { href: `#/case/${encodeURIComponent(c.id)}` }, c.id)),
              h("td", {}, c.applicant),
              h("td", {}, c.item_name),
              h("td", {}, departmentName(cat, c.department)),
              h("td", { dataset: { phase: c.phase } }, c.phase_zh),
              h("td", {}, fmtTime(c.received_at)),
              h("td", {}, c.conflicts ? h("span", { class: "badge bad" }, String(c.conflicts)) : "—"),
            ),
          ),
        ),
      ),
    );
  }
  async function load() {
    const q = new URLSearchParams();
    for (const [k, el] of Object.entries({ phase, applicant, item, department, due, scope })) {
      if (el.value.trim()) q.set(k, el.value.trim());
    }
    q.set("limit", String(LIST_LIMIT));
    try {
      rows = (await api("GET", `/api/v1/cases?${q}`)).cases || [];
      draw();
    } catch (e) {
      showError(e);
    }
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  search.addEventListener("input", draw);
  if (params[0]) phase.value = params[0];
  await load();
  phase.focus();
}

function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.filter(([, v]) => v !== null && v !== undefined && v !== "").map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
  );
}

const LEVEL_ZH = { normal: "正常", warning: "预警", yellow: "黄牌", red: "红牌" };
const DUTY_ZH = {
  decision: "办结时限",
  handover: "材料交接",
  tolerance_supply: "容缺材料补交",
  intake_answer: "五日内一次告知",
  issuing: "十日内颁发证照",
  pre_acceptance: "网上预受理",
  upward_report: "上报件两日内上报",
  result_form_return: "办理结果交接单返还",
  consultation_reply: "疑难咨询两日内答复",
};

function duty(kind) {
  return `${DUTY_ZH[kind.duty] || kind.duty}${kind.department ? `(${kind.department})` : ""}`;
}

export async function renderCase(root, params) {
  const id = params[0] || "";
  const [cat, view] = await Promise.all([catalog(), api("GET", `/api/v1/cases/${encodeURIComponent(id)}`)]);
  drawCase(root, view, cat);
}

function drawCase(root, view, cat) {
  const s = view.state;
  const hd = view.header;
  const me = session.me;
  const forms = stepForms(view, me, cat, (outcome) => {
    drawCase(root, outcome.case, cat);
  });
  const timeline = h(
    "ol",
    { class: "timeline", dataset: { timeline: "" } },
    view.events.map((e) =>
      h(
        "li",
        { dataset: { event: e.event.kind.kind } },
        h("time", { datetime: e.at }, fmtTime(e.at)),
        h("strong", {}, e.name_zh),
        h("span", { class: "by" }, `${e.staff}(${e.role_zh})@${e.node}`),
      ),
    ),
  );
  const duties = (view.duties || []).length
    ? h(
        "table",
        { dataset: { duties: "" } },
        h("thead", {}, h("tr", {}, ["时限", "到期", "剩余工作日", "状态"].map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          view.duties.map((d) =>
            h(
              "tr",
              { dataset: { level: d.level } },
              h("td", {}, duty(d.kind)),
              h("td", {}, fmtTime(d.due), d.provisional ? h("small", { class: "hint" }, "(日历未覆盖,暂估)") : null),
              h("td", { class: "num" }, d.done ? "—" : String(d.remaining_workdays)),
              h("td", { class: `level-${d.level}` }, d.done ? "已完成" : LEVEL_ZH[d.level] || d.level),
            ),
          ),
        ),
      )
    : h("p", { class: "empty" }, "无计时事项");
  const cards = (s.cards || []).length
    ? h(
        "ul",
        { dataset: { cards: "" } },
        s.cards.map((c) =>
          h(
            "li",
            { class: `level-${c.card.level}` },
            `${LEVEL_ZH[c.card.level] || c.card.level}:${duty(c.duty)}(${fmtTime(c.card.issued_at)})`,
            c.card.revoked ? h("span", { class: "hint" }, " 已撤销") : null,
          ),
        ),
      )
    : h("p", { class: "empty" }, "无红黄牌");
  const conflicts = (s.conflicts || []).length
    ? h("ul", { dataset: { conflicts: "" } }, s.conflicts.map((c) => h("li", {}, `${c.message}(依据 ${c.rule})`)))
    : h("p", { class: "empty" }, "无冲突");
  const tolerance = s.tolerance
    ? facts([
        ["承诺补交", s.tolerance.commitment.materials.join("、")],
        ["补交期限", s.tolerance.commitment.deadline],
        ["已补交", Object.keys(s.tolerance.supplied || {}).join("、") || "尚未补交"],
      ])
    : null;
  replace(
    root,
    h(
      "div",
      { class: "case-head" },
      h("h1", {}, "办件 ", h("span", { dataset: { caseId: view.id } }, view.id)),
      h("span", { dataset: { phase: s.phase } }, view.phase_zh),
    ),
    h(
      "div",
      { class: "cols" },
      h(
        "div",
        {},
        h(
          "section",
          { class: "card", "aria-label": "基本信息" },
          h("h2", {}, "基本信息"),
          facts([
            ["事项", `${hd.item.code} ${hd.item.name}`],
            ["承办部门", departmentName(cat, hd.item.department)],
            ["申请人", `${hd.applicant.name}(${hd.applicant.id.number})`],
            ["联系电话", hd.applicant.phone],
            ["委托人", hd.agent ? `${hd.agent.name}(委托书 ${hd.agent.authorisation.document_ref})` : null],
            ["受理节点", `${hd.origin}(${hd.scope})`],
            ["接件时间", fmtTime(s.received_at)],
            ["受理时间", s.accepted_at ? fmtTime(s.accepted_at) : null],
            ["省平台编号", s.provincial_number],
          ]),
          tolerance ? [h("h3", {}, "容缺受理承诺"), tolerance] : null,
        ),
        forms.length ? h("section", { class: "card", "aria-label": "办理" }, h("h2", {}, "办理"), h("div", { class: "steps" }, forms)) : null,
        h("section", { class: "card", "aria-label": "文书" }, h("h2", {}, "文书"), documentButtons(view)),
      ),
      h(
        "div",
        {},
        h("section", { class: "card", "aria-label": "时间线" }, h("h2", {}, "时间线"), timeline),
        h("section", { class: "card", "aria-label": "时限" }, h("h2", {}, "时限"), duties),
        h("section", { class: "card", "aria-label": "红黄牌" }, h("h2", {}, "红黄牌"), cards),
        h("section", { class: "card", "aria-label": "冲突" }, h("h2", {}, "冲突"), conflicts),
      ),
    ),
  );
  const first = root.querySelector("form.step input, form.step select, form.step textarea, form.step button");
  if (first && !root.contains(document.activeElement)) first.focus();
}


