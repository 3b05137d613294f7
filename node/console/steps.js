// The steps of a case (every `POST /api/v1/cases/{id}/{step}` of routes.rs STEPS) as forms, and
// the materials checklist. Each form's submit button carries `data-step="<path>"` and the
// step's Chinese action text. Which steps show mirrors schema/src/case/permissions.rs (who) and
// the case's phase (when); the node decides in the end and its refusal is shown as it is.

import { api, h, field, checkbox, select, lines, fieldId, message, showError, roleName, roleDepartment, departmentName } from "./lib.js";

/** Departments of an item, lead first (the catalog's joint mode, W4.3). */
export function departments(item) {
  const joint = item.joint || { mode: "none" };
  let lead = item.department;
  let listed = [];
  if (joint.mode === "serial") {
    listed = joint.departments || [];
    lead = listed[0] || item.department;
  } else if (joint.mode === "parallel") {
    listed = joint.departments || [];
    lead = joint.lead || item.department;
  }
  return [...new Set([lead, ...listed, item.department])];
}

const TERMINAL = ["archived", "not_accepted", "reported_upward", "withdrawn"];
const INTAKE_AREAS = ["real_estate", "housing_fund", "social_security"];

/** What the member of staff `me` is to case `view` (mirrors permissions.rs). */
function who(view, me) {
  const item = view.header.item;
  const role = roleName(me);
  const dept = roleDepartment(me);
  const depts = departments(item);
  const own = dept !== "" && dept === item.department;
  return {
    role,
    dept,
    clerk: role === "window_clerk",
    issuing: role === "issuing_window",
    centre: role === "hall_centre",
    supervisor: role === "supervisor",
    involved: dept !== "" && depts.includes(dept),
    lead: dept !== "" && depts[0] === dept,
    intake: role === "window_clerk" || (own && (item.kind === "instant" || INTAKE_AREAS.includes(item.area))),
    instantOwn: own && item.kind === "instant",
  };
}

/** Conditions of a material: `{condition: "present"}`, `{condition: "flawed", note}`. */
function condition(checked, note) {
  if (!checked) return null;
  return note ? { condition: "flawed", note } : { condition: "present" };
}

/**
 * The materials of `item` as a checklist: a box per material (checked = presented), its key /
 * tolerable mark, and a flaw note. `initial(code)` gives `{checked, note}`.
 * Answers `{ el, presented(), onChange(f) }`; `presented()` lists the checked ones.
 */
export function materialChecklist(item, { initial = () => ({ checked: false, note: "" }), notes = true, name = "m" } = {}) {
  const rows = [];
  const listeners = [];
  const list = h("ul", { class: "materials" });
  for (const m of item.materials || []) {
    const start = initial(m.code) || {};
    const id = fieldId(`${name}-${m.code}`);
    const box = h("input", { type: "checkbox", id, name: `${name}-${m.code}`, checked: start.checked, dataset: { material: m.code } });
    const note = notes
      ? h("input", { type: "text", id: `${id}-note`, name: `${name}-${m.code}-note`, value: start.note || "", placeholder: "瑕疵说明(无则留空)" })
      : null;
    const label = h(
      "label",
      { for: id },
      `${m.code} ${m.name}`,
      h("span", { class: `tag ${m.class}`, dataset: { class: m.class } }, m.class === "key" ? "关键材料" : "可容缺"),
      m.paper ? h("span", { class: "tag paper" }, "纸质") : null,
    );
    const noteCell = notes
      ? h("span", { class: "field" }, h("label", { for: note.id, class: "hint" }, `${m.code} 瑕疵说明`), note)
      : h("span");
    list.append(h("li", {}, box, label, noteCell));
    rows.push({ code: m.code, box, note });
    for (const el of [box, note].filter(Boolean)) {
      el.addEventListener(el === box ? "change" : "input", () => listeners.forEach((f) => f()));
    }
  }
  return {
    el: list,
    presented() {
      return rows
        .map((r) => ({ code: r.code, condition: condition(r.box.checked, r.note ? r.note.value.trim() : "") }))
        .filter((p) => p.condition);
    },
    checked() {
      return rows.filter((r) => r.box.checked).map((r) => r.code);
    },
    onChange(f) {
      listeners.push(f);
    },
  };
}

/** Boxes for a choice of materials (codes), e.g. those promised in a commitment. */
function materialBoxes(item, codes, checkedCodes, name) {
  const boxes = codes.map((code) => {
    const m = (item.materials || []).find((x) => x.code === code) || { code, name: code };
    return { code, ...checkbox(`${code} ${m.name}`, { name: `${name}-${code}`, checked: checkedCodes.includes(code), dataset: { material: code } }) };
  });
  return {
    el: h("div", { class: "field" }, boxes.map((b) => b.el)),
    codes: () => boxes.filter((b) => b.box.checked).map((b) => b.code),
  };
}

function text(name, attrs = {}) {
  return h("input", { type: "text", name, ...attrs });
}

function area(name, attrs = {}) {
  return h("textarea", { name, rows: 3, ...attrs });
}

function dutyValue(duty) {
  return JSON.stringify(duty);
}

function dutyText(duty) {
  const names = {
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
  return `${names[duty.duty] || duty.duty}${duty.department ? `(${duty.department})` : ""}`;
}

/**
 * Every step: `path` (the URL segment and `data-step`), `action` (the button's text), `rule`,
 * `show(ctx)`, and `form(ctx)` → `{ fields: [nodes], body() }`. `ctx` = { view, me, cat, w, hints }
 * where `w` is `who(view, me)` and `hints` carries what the window page knows (the eligibility).
 */
export const STEPS = [
  {
    path: "pre-acceptance",
    action: "预受理",
    title: "网上预受理结果",
    rule: "W3.1",
    show: ({ view, w }) =>
      w.intake && view.state.phase === "received" && (view.state.channel || {}).channel === "online" && !view.state.pre_acceptance,
    form() {
      const result = select({ name: "result" }, [["pass", "通过"], ["correction", "需补正"], ["reject", "不通过"]], "pass");
      const paper = checkbox("需到窗口提交纸质材料", { name: "paper_required", checked: true });
      const notes = area("notes", { placeholder: "需补正的问题或不通过的理由,每行一条" });
      return {
        fields: [field("预受理结果", result), paper.el, field("问题或理由(每行一条)", notes)],
        body() {
          const r = result.value;
          if (r === "pass") return { result: { result: "pass", paper_required: paper.box.checked } };
          if (r === "correction") {
            return { result: { result: "correction", problems: lines(notes.value).map((d) => ({ material: null, description: d })) } };
          }
          return { result: { result: "reject", reasons: lines(notes.value) } };
        },
      };
    },
  },
  {
    path: "accept",
    action: "受理",
    title: "受理(材料齐全、符合法定形式)",
    rule: "W3.5",
    show: ({ view, w }) => w.intake && ["received", "pre_accepted"].includes(view.state.phase),
    form: () => ({ fields: [h("p", { class: "hint" }, "按接件时登记的材料受理,出具材料受理及接收凭证。")], body: () => ({ presented: [] }) }),
  },
  {
    path: "tolerance-accept",
    action: "容缺受理",
    title: "容缺受理并签署承诺书",
    rule: "T3.2",
    show: ({ view, w }) => w.intake && view.header.item.tolerance && ["received", "pre_accepted"].includes(view.state.phase),
    form({ view, hints }) {
      const item = view.header.item;
      const presented = Object.keys(view.state.presented || {});
      const tolerable = (item.materials || []).filter((m) => m.class === "tolerable").map((m) => m.code);
      const missing = (hints.eligibility && hints.eligibility.missing) || tolerable.filter((c) => !presented.includes(c));
      const mats = materialBoxes(item, tolerable, missing, "commit");
      const latest = hints.eligibility && hints.eligibility.latest_deadline ? hints.eligibility.latest_deadline.at : "";
      const deadline = h("input", { type: "date", name: "deadline", value: latest, max: latest || undefined, required: true });
      const windowName = text("window", { value: hints.windowName || "综合受理窗口", required: true });
      const agent = view.header.agent;
      const signer = select(
        { name: "signed_by" },
        [["applicant", "申请人本人"], ...(agent ? [["agent", `委托人 ${agent.name}(特别授权)`]] : [])],
        "applicant",
      );
      return {
        fields: [
          h("div", { class: "field" }, h("span", { class: "hint" }, "承诺补交的材料"), mats.el),
          field("补交期限", deadline, latest ? `最迟 ${latest}(承诺办结日,T3.3)` : "不得晚于承诺办结日(T3.3)"),
          field("补交地点(窗口)", windowName),
          field("承诺书签署人", signer),
        ],
        body() {
          const signed_by =
            signer.value === "agent" && agent
              ? { by: "agent", id_number: agent.id, name: agent.name, authorisation_ref: agent.authorisation.document_ref }
              : { by: "applicant" };
          return {
            presented: [],
            commitment: { materials: mats.codes(), deadline: deadline.value, window: windowName.value.trim(), signed_by },
          };
        },
      };
    },
  },
  {
    path: "correction-notice",
    action: "补正通知",
    title: "一次性告知补正",
    rule: "W3.5",
    show: ({ view, w }) => w.intake && ["received", "pre_accepted"].includes(view.state.phase),
    form({ view }) {
      const item = view.header.item;
      const presented = view.state.presented || {};
      const rows = (item.materials || []).map((m) => {
        const got = presented[m.code];
        const flawed = got && got.condition === "flawed";
        const problem = !got || flawed;
        const c = checkbox(`${m.code} ${m.name}`, { name: `problem-${m.code}`, checked: problem, dataset: { material: m.code } });
        const desc = text(`problem-${m.code}-text`, { value: problem ? (flawed ? `${m.name}:${got.note}` : `缺少${m.name}`) : "" });
        return { code: m.code, c, desc };
      });
      const other = area("other", { placeholder: "其他问题,每行一条" });
      return {
        fields: [
          h("fieldset", {}, h("legend", {}, "需补正的材料(一次告知全部问题)"), rows.map((r) => [r.c.el, field(`${r.code} 补正说明`, r.desc)])),
          field("其他问题(每行一条)", other),
        ],
        body: () => ({
          problems: [
            ...rows.filter((r) => r.c.box.checked).map((r) => ({ material: r.code, description: r.desc.value.trim() || `请补正 ${r.code}` })),
            ...lines(other.value).map((d) => ({ material: null, description: d })),
          ],
        }),
      };
    },
  },
  {
    path: "resubmit",
    action: "重新递交",
    title: "补正后重新递交",
    rule: "W3.5",
    show: ({ view, w }) => w.intake && view.state.phase === "awaiting_correction",
    form({ view }) {
      const list = materialChecklist(view.header.item, { name: "resubmit" });
      return { fields: [h("div", { class: "field" }, h("span", { class: "hint" }, "补正后递交的材料"), list.el)], body: () => ({ presented: list.presented() }) };
    },
  },
  {
    path: "not-accept",
    action: "不予受理",
    title: "不予受理决定",
    rule: "W3.5",
    show: ({ view, w }) => w.intake && ["received", "pre_accepted", "awaiting_correction"].includes(view.state.phase),
    form() {
      const reasons = area("reasons", { required: true, placeholder: "如:申请事项依法不属于本机关职权范围" });
      return { fields: [field("不予受理理由(每行一条)", reasons)], body: () => ({ reasons: lines(reasons.value) }) };
    },
  },
  {
    path: "handover",
    action: "移交",
    title: "材料移交职能部门",
    rule: "W4.1",
    show: ({ view, w }) =>
      (w.clerk || w.centre || w.involved) &&
      view.state.phase === "accepted" &&
      departments(view.header.item).some((d) => !((view.state.handovers || {})[d] || {}).handed_at),
    form({ view, cat }) {
      const open = departments(view.header.item).filter((d) => !((view.state.handovers || {})[d] || {}).handed_at);
      const dept = select({ name: "department" }, open.map((d) => [d, departmentName(cat, d)]), open[0]);
      const paper = checkbox("纸质材料", { name: "paper", checked: true });
      return { fields: [field("移交部门", dept), paper.el], body: () => ({ department: dept.value, paper: paper.box.checked }) };
    },
  },
  {
    path: "handover-sign",
    action: "签收",
    title: "部门签收材料",
    rule: "W4.2",
    show: ({ view, w }) => {
      const hv = (view.state.handovers || {})[w.dept];
      return w.involved && hv && hv.handed_at && !hv.signed_at;
    },
    form: ({ w, cat }) => ({
      fields: [h("p", { class: "hint" }, `以「${departmentName(cat, w.dept)}」名义签收移交的材料。`)],
      body: () => ({ department: w.dept }),
    }),
  },
  {
    path: "special-procedure-start",
    action: "开始特别程序",
    title: "特别程序开始(计时暂停)",
    rule: "W5.1",
    show: ({ view, w }) => w.involved && view.state.phase === "in_review" && !(view.state.pauses || []).some((p) => !p.end),
    form() {
      const reason = text("reason", { required: true });
      return { fields: [field("特别程序事由", reason)], body: () => ({ reason: reason.value.trim() }) };
    },
  },
  {
    path: "special-procedure-end",
    action: "结束特别程序",
    title: "特别程序结束",
    rule: "W5.1",
    show: ({ view, w }) => w.involved && (view.state.pauses || []).some((p) => !p.end),
    form: () => ({ fields: [], body: () => ({}) }),
  },
  {
    path: "supplements",
    action: "接收补交材料",
    title: "接收补交的容缺材料",
    rule: "T3.5",
    show: ({ view, w }) => {
      const t = view.state.tolerance;
      if (!t || !(w.clerk || w.issuing || w.intake) || TERMINAL.includes(view.state.phase)) return false;
      return t.commitment.materials.some((c) => !(t.supplied || {})[c]);
    },
    form({ view }) {
      const t = view.state.tolerance;
      const open = t.commitment.materials.filter((c) => !(t.supplied || {})[c]);
      const mats = materialBoxes(view.header.item, open, open, "supply");
      return {
        fields: [h("div", { class: "field" }, h("span", { class: "hint" }, `承诺 ${t.commitment.deadline} 前补交的材料`), mats.el)],
        body: () => ({ materials: mats.codes() }),
      };
    },
  },
  {
    path: "proposed-decision",
    action: "提出拟审批意见",
    title: "拟审批决定",
    rule: "T3.4",
    show: ({ view, w }) => w.involved && view.state.phase === "in_review",
    form() {
      const approve = select({ name: "approve" }, [["true", "拟准予"], ["false", "拟不予"]], "true");
      const opinion = area("opinion", { required: true });
      return { fields: [field("拟审批结论", approve), field("审查意见", opinion)], body: () => ({ approve: approve.value === "true", opinion: opinion.value.trim() }) };
    },
  },
  {
    path: "decision",
    action: "作出决定",
    title: "审批决定(准予或不予)",
    rule: "W5.1",
    show: ({ view, w }) => w.lead && view.state.phase === "in_review",
    form() {
      const outcome = select({ name: "outcome" }, [["approve", "准予"], ["deny", "不予审批"]], "approve");
      const result = text("result", { placeholder: "如:准予登记,颁发不动产权证书" });
      const reasons = area("reasons", { placeholder: "不予审批的理由,每行一条" });
      const basis = select({ name: "basis" }, [["review", "实质审查不符合条件"], ["tolerance_lapsed", "逾期未补交容缺材料(T3.6)"]], "review");
      return {
        fields: [field("决定", outcome), field("准予结果", result), field("不予理由(每行一条)", reasons), field("不予依据", basis)],
        body: () =>
          outcome.value === "approve"
            ? { outcome: { outcome: "approve", result: result.value.trim() || "准予" } }
            : { outcome: { outcome: "deny", reasons: lines(reasons.value), basis: basis.value } },
      };
    },
  },
  {
    path: "report-upward",
    action: "呈报上级",
    title: "上报件呈报上级",
    rule: "W8",
    show: ({ view, w }) => w.lead && view.header.item.kind === "upward" && ["accepted", "in_review"].includes(view.state.phase),
    form() {
      const opinion = area("opinion", { required: true });
      return { fields: [field("初审意见", opinion)], body: () => ({ opinion: opinion.value.trim() }) };
    },
  },
  {
    path: "result-to-issuing",
    action: "转交发证窗口",
    title: "结果转交统一发证窗口",
    rule: "W6.1",
    show: ({ view, w }) => (w.lead || w.issuing) && view.state.phase === "decided",
    form() {
      const entry = text("register_entry", { required: true, placeholder: "如:发证交接登记簿第12号" });
      return { fields: [field("交接登记", entry)], body: () => ({ register_entry: entry.value.trim() }) };
    },
  },
  {
    path: "notify",
    action: "通知领取",
    title: "通知申请人领取",
    rule: "W6.2",
    show: ({ view, w }) => (w.issuing || w.instantOwn) && view.state.phase === "at_issuing_window",
    form({ view }) {
      const phone = view.header.applicant.phone;
      const contact = text("contact", { required: true, value: phone ? `电话 ${phone}` : "" });
      return { fields: [field("通知方式", contact)], body: () => ({ contact: contact.value.trim() }) };
    },
  },
  {
    path: "deliver",
    action: "送达",
    title: "送达(自取或邮寄)",
    rule: "W6.2",
    show: ({ view, w }) => (w.issuing || w.instantOwn) && view.state.phase === "notified",
    form({ view }) {
      const method = select({ name: "method" }, [["pickup", "申请人自取"], ["mail", "邮寄"]], "pickup");
      const signedBy = text("signed_by", { value: view.header.applicant.name });
      const receipt = text("postal_receipt");
      const address = text("address", { value: view.header.applicant.address || "" });
      return {
        fields: [field("送达方式", method), field("领取人签名", signedBy), field("邮寄回执号", receipt), field("邮寄地址", address)],
        body: () =>
          method.value === "pickup"
            ? { delivery: { method: "pickup", signed_by: signedBy.value.trim() } }
            : { delivery: { method: "mail", postal_receipt: receipt.value.trim(), address: address.value.trim() } },
      };
    },
  },
  {
    path: "result-form-returned",
    action: "交接单已返还",
    title: "办理结果交接单返还部门",
    rule: "W6.2",
    show: ({ view, w }) =>
      (w.issuing || w.instantOwn) && view.state.phase === "delivered" && !view.state.form_returned_at &&
      ((view.state.delivered || [])[1] || {}).method === "mail",
    form: () => ({ fields: [], body: () => ({}) }),
  },
  {
    path: "archive",
    action: "归档",
    title: "归档",
    rule: "W7",
    show: ({ view, w }) => w.lead && ["delivered", "decided"].includes(view.state.phase),
    form: () => ({ fields: [], body: () => ({}) }),
  },
  {
    path: "withdraw",
    action: "撤回申请",
    title: "申请人撤回",
    rule: "W3.5",
    show: ({ view, w }) => w.intake && !TERMINAL.includes(view.state.phase) && !["decided", "at_issuing_window", "notified", "delivered"].includes(view.state.phase),
    form() {
      const reason = text("reason", { required: true });
      return { fields: [field("撤回原因", reason)], body: () => ({ reason: reason.value.trim() }) };
    },
  },
  {
    path: "file-removal-consent",
    action: "同意带离",
    title: "同意案卷带离大厅",
    rule: "W5.2",
    show: ({ view, w }) => w.centre && ["accepted", "in_review"].includes(view.state.phase),
    form() {
      const reason = text("reason", { required: true });
      return { fields: [field("带离事由", reason)], body: () => ({ reason: reason.value.trim() }) };
    },
  },
  {
    path: "scans",
    action: "登记扫描件",
    title: "上传并登记扫描件",
    rule: "W3.2",
    show: ({ view, w }) => w.intake && !TERMINAL.includes(view.state.phase),
    form({ view }) {
      const material = select({ name: "material" }, (view.header.item.materials || []).map((m) => [m.code, `${m.code} ${m.name}`]));
      const file = h("input", { type: "file", name: "file", required: true });
      return {
        fields: [field("材料", material), field("扫描文件", file)],
        async body() {
          const f = file.files && file.files[0];
          if (!f) throw new Error("请选择扫描文件");
          const uploaded = await fetch("/api/v1/attachments", {
            method: "POST",
            headers: { Authorization: `Bearer ${sessionStorage.getItem("yikou.token") || ""}`, "Content-Type": "application/octet-stream" },
            body: f,
          });
          const answer = await uploaded.json();
          if (!uploaded.ok) throw new Error(answer.detail || "上传失败");
          return { scans: [{ material: material.value, hash: answer.hash, bytes: answer.bytes, media_type: f.type || "application/octet-stream" }] };
        },
      };
    },
  },
  {
    path: "cards",
    action: "记录红黄牌",
    title: "红黄牌(电子监察)",
    rule: "W9",
    show: ({ view, w }) => w.supervisor && !TERMINAL.includes(view.state.phase),
    form({ view }) {
      const duties = (view.duties || []).map((d) => [dutyValue(d.kind), dutyText(d.kind)]);
      const duty = select({ name: "duty" }, duties.length ? duties : [[dutyValue({ duty: "decision" }), "办结时限"]]);
      const level = select({ name: "level" }, [["warning", "预警"], ["yellow", "黄牌"], ["red", "红牌"]], "yellow");
      return { fields: [field("时限", duty), field("级别", level)], body: () => ({ duty: JSON.parse(duty.value), level: level.value }) };
    },
  },
  {
    path: "card-revoke",
    action: "撤销红黄牌",
    title: "撤销红黄牌",
    rule: "W9",
    show: ({ view, w }) => w.supervisor && (view.state.cards || []).some((c) => !c.card.revoked),
    form({ view }) {
      const open = (view.state.cards || []).filter((c) => !c.card.revoked);
      const duty = select({ name: "duty" }, open.map((c) => [dutyValue(c.duty), `${dutyText(c.duty)} ${c.card.level}`]));
      const reason = text("reason", { required: true });
      return { fields: [field("撤销的牌", duty), field("撤销理由", reason)], body: () => ({ duty: JSON.parse(duty.value), reason: reason.value.trim() }) };
    },
  },
  {
    path: "conflict-resolve",
    action: "处理冲突",
    title: "处理同步后冲突",
    rule: "O4",
    show: ({ view, w }) => w.supervisor && (view.state.conflicts || []).length > 0,
    form({ view }) {
      const conflict = select({ name: "conflict" }, view.state.conflicts.map((c) => [c.id, `${c.message}(${c.rule})`]));
      const note = text("note", { required: true });
      return { fields: [field("冲突", conflict), field("处理意见", note)], body: () => ({ conflict: conflict.value, note: note.value.trim() }) };
    },
  },
  {
    path: "rating",
    action: "登记评价",
    title: "满意度评价",
    rule: "W10",
    show: ({ view, w }) => (w.clerk || w.issuing) && view.state.phase !== "new",
    form() {
      const score = select({ name: "score" }, [["5", "5 非常满意"], ["4", "4 满意"], ["3", "3 基本满意"], ["2", "2 不满意"], ["1", "1 非常不满意"]], "5");
      return { fields: [field("评分", score)], body: () => ({ score: Number(score.value) }) };
    },
  },
  {
    path: "provincial-number",
    action: "登记省平台编号",
    title: "登记省平台编号",
    rule: "O3",
    show: ({ view, w }) => w.centre && !view.state.provincial_number,
    form() {
      const number = text("number", { required: true });
      return { fields: [field("省平台编号", number)], body: () => ({ number: number.value.trim() }) };
    },
  },
];

/**
 * The forms of the steps `me` may take on case `view` now (only those in `only`, when given).
 * `onDone(outcome)` gets the step's answer (`{case, event}`).
 */
export function stepForms(view, me, cat, onDone, { only, hints = {} } = {}) {
  const ctx = { view, me, cat, w: who(view, me), hints };
  const shown = STEPS.filter((s) => (!only || only.includes(s.path)) && s.show(ctx));
  return shown.map((step) => stepForm(step, ctx, onDone));
}

function stepForm(step, ctx, onDone) {
  const { fields, body } = step.form(ctx);
  const button = h("button", { type: "submit", dataset: { step: step.path } }, step.action);
  const form = h(
    "form",
    { class: "step", dataset: { stepForm: step.path }, "aria-label": step.title },
    h("h3", {}, step.title, h("span", { class: "rule" }, step.rule)),
    fields,
    h("div", { class: "actions" }, button),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      const outcome = await api("POST", `/api/v1/cases/${encodeURIComponent(ctx.view.id)}/${step.path}`, await body());
      message("ok", `${ctx.view.id}:${step.title} 已办理,状态为「${outcome.case.phase_zh}」`);
      await onDone(outcome);
    } catch (e) {
      showError(e);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}
