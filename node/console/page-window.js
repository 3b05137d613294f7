// #/window: the comprehensive window. A queue number; the intake form driven by the catalog
// (materials as a checklist with key / tolerable marked, the tolerance answer live, every reason
// shown when not eligible); after 接件 the window's decision on the spot (受理, 容缺受理, 补正通知,
// 不予受理) and the documents to print; a case number box to record supplements later.

import { api, h, field, checkbox, select, replace, message, showError, catalog, session, navigate, isoDay } from "./lib.js";
import { materialChecklist, stepForms } from "./steps.js";
import { documentButtons } from "./print.js";

/** How long the form waits after a change before asking for the tolerance answer. */
const ELIGIBILITY_DEBOUNCE_MS = 300;

export async function render(root) {
  const cat = await catalog();
  const today = isoDay();
  const items = (cat.items || []).filter((i) => !i.cancelled_from || i.cancelled_from > today);

  root.append(h("h1", {}, "窗口受理"));
  const cols = h("div", { class: "cols" });
  root.append(cols);
  const left = h("div");
  const right = h("div");
  cols.append(left, right);

  right.append(ticketCard(), lookupCard());

  // The intake form.
  const item = select(
    { name: "item", required: true, autofocus: true },
    [["", "请选择办理事项"], ...items.map((i) => [i.code, `${i.code} ${i.name}`])],
    "",
  );
  const applicantId = h("input", { type: "text", name: "applicant-id", required: true, autocomplete: "off", maxlength: 18 });
  const applicantName = h("input", { type: "text", name: "applicant-name", required: true, autocomplete: "off" });
  const phone = h("input", { type: "text", name: "phone", autocomplete: "off", inputmode: "tel" });
  const address = h("input", { type: "text", name: "address", autocomplete: "off" });
  const channel = select(
    { name: "channel" },
    [["hall", "大厅窗口"], ["township", "乡镇便民服务点"], ["online", "网上申报"], ["mail", "邮寄申报"]],
    "hall",
  );
  const channelRef = h("input", { type: "text", name: "channel-ref", autocomplete: "off" });
  const channelRefField = field("网上申报编号 / 邮寄交接记录编号", channelRef);
  channelRefField.hidden = true;
  const agentOn = checkbox("由委托人代为办理", { name: "agent" });
  const agentId = h("input", { type: "text", name: "agent-id", autocomplete: "off", maxlength: 18 });
  const agentName = h("input", { type: "text", name: "agent-name", autocomplete: "off" });
  const agentRef = h("input", { type: "text", name: "agent-ref", autocomplete: "off" });
  const agentSpecific = checkbox("特别授权(可代签承诺书)", { name: "agent-specific" });
  const agentFields = h("div", { class: "grid" }, field("委托人身份证号", agentId), field("委托人姓名", agentName), field("委托书编号", agentRef), agentSpecific.el);
  agentFields.hidden = true;
  const deadline = h("input", { type: "date", name: "requested-deadline" });
  const materialsBox = h("div", { dataset: { materials: "" } }, h("p", { class: "empty" }, "选择事项后显示材料清单"));
  const answer = h("div", { class: "eligibility", dataset: { eligibility: "" }, "aria-live": "polite" }, "选择事项并填写申请人后,即时显示能否容缺受理。");
  const submit = h("button", { type: "submit" }, "接件");

  const form = h(
    "form",
    { class: "card", "aria-label": "接件", dataset: { intake: "" } },
    h("h2", {}, "接件"),
    h("div", { class: "grid" }, field("办理事项", item), field("申报渠道", channel), channelRefField),
    h(
      "fieldset",
      {},
      h("legend", {}, "申请人"),
      h("div", { class: "grid" }, field("申请人证件号码", applicantId, "身份证号或统一社会信用代码"), field("申请人姓名", applicantName), field("联系电话", phone), field("联系地址", address)),
    ),
    h("fieldset", {}, h("legend", {}, "委托人"), agentOn.el, agentFields),
    h("fieldset", {}, h("legend", {}, "材料(勾选已收到的;有瑕疵的填写说明)"), materialsBox),
    h("div", { class: "grid" }, field("申请人拟承诺的补交期限(可不填)", deadline)),
    h("h3", {}, "容缺受理核验"),
    answer,
    h("div", { class: "actions" }, submit),
  );
  left.append(form);
  const result = h("div", { dataset: { intakeResult: "" } });
  left.append(result);

  let checklist = null;
  let lastEligibility = null;
  let timer = null;
  let asked = 0;

  function request() {
    const body = {
      item: item.value,
      applicant: {
        id: applicantId.value.trim(),
        name: applicantName.value.trim(),
        phone: phone.value.trim() || null,
        address: address.value.trim() || null,
      },
      channel: { channel: channel.value },
      presented: checklist ? checklist.presented() : [],
      requested_deadline: deadline.value || null,
    };
    if (channel.value === "online") body.channel.portal_ref = channelRef.value.trim();
    if (channel.value === "mail") body.channel.handover_record = channelRef.value.trim();
    if (agentOn.box.checked) {
      body.agent = {
        id: agentId.value.trim(),
        name: agentName.value.trim(),
        authorisation_ref: agentRef.value.trim(),
        specific: agentSpecific.box.checked,
      };
    }
    return body;
  }

  function showAnswer(e) {
    lastEligibility = e;
    answer.dataset.answer = e.answer;
    answer.dataset.route = "";
    if (e.answer === "eligible") {
      replace(
        answer,
        h("strong", {}, "可以容缺受理"),
        e.missing && e.missing.length ? h("p", {}, `需承诺补交:${e.missing.join("、")}`) : h("p", {}, "材料齐全,可直接受理"),
        e.latest_deadline ? h("p", {}, `承诺补交期限最迟:${e.latest_deadline.at}`) : null,
      );
    } else {
      // Nothing is missing: not a refusal — the application is accepted the normal way (T1).
      const complete = (e.reasons || []).length > 0 && e.reasons.every((r) => r.route === "accept_normally");
      answer.dataset.route = complete ? "accept_normally" : "";
      replace(
        answer,
        h("strong", {}, complete ? "材料齐全,直接受理即可(无需容缺)" : "不能容缺受理"),
        h("ul", { dataset: { reasons: "" } }, (e.reasons || []).map((r) => h("li", { dataset: { code: r.code } }, `${r.message}(依据 ${r.rule})`))),
      );
    }
  }

  async function check() {
    if (!item.value || !applicantId.value.trim()) return;
    const serial = ++asked;
    try {
      const e = await api("POST", "/api/v1/eligibility", request());
      if (serial === asked) showAnswer(e);
    } catch (err) {
      if (serial !== asked) return;
      answer.dataset.answer = "unknown";
      replace(answer, h("span", {}, `暂时无法核验:${err.message}`));
    }
  }

  function changed() {
    clearTimeout(timer);
    timer = setTimeout(check, ELIGIBILITY_DEBOUNCE_MS);
  }

  item.addEventListener("change", () => {
    const chosen = items.find((i) => i.code === item.value);
    if (!chosen) {
      replace(materialsBox, h("p", { class: "empty" }, "选择事项后显示材料清单"));
      checklist = null;
    } else {
      checklist = materialChecklist(chosen, { name: "intake" });
      checklist.onChange(changed);
      replace(
        materialsBox,
        h("p", { class: "hint" }, `${chosen.name}:承诺 ${chosen.promised_days} 个工作日办结${chosen.tolerance ? ",可容缺受理" : ",不适用容缺受理"}`),
        checklist.el,
      );
    }
    changed();
  });
  channel.addEventListener("change", () => {
    channelRefField.hidden = !["online", "mail"].includes(channel.value);
    changed();
  });
  agentOn.box.addEventListener("change", () => {
    agentFields.hidden = !agentOn.box.checked;
  });
  for (const el of [applicantId, applicantName, phone, address, deadline, channelRef, agentId, agentSpecific.box]) {
    el.addEventListener("input", changed);
    el.addEventListener("change", changed);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const out = await api("POST", "/api/v1/cases", request());
      showAnswer(out.eligibility);
      message("ok", `已接件,办件编号 ${out.case.id}`);
      showCase(out.case);
    } catch (e) {
      showError(e);
    } finally {
      submit.disabled = false;
    }
  });
  item.focus();

  /** After 接件 (and after each step): the case, the window's decisions and the documents. */
  function showCase(view) {
    const forms = stepForms(view, session.me, cat, (outcome) => showCase(outcome.case), {
      only: ["accept", "tolerance-accept", "correction-notice", "not-accept", "supplements", "handover", "resubmit"],
      hints: { eligibility: lastEligibility && lastEligibility.answer === "eligible" ? lastEligibility : null },
    });
    replace(
      result,
      h(
        "section",
        { class: "card", "aria-label": "本件办理" },
        h(
          "h2",
          {},
          "本件:",
          h("a", { href: `#/case/${encodeURIComponent(view.id)}`, dataset: { caseId: view.id } }, view.id),
          " ",
          h("span", { class: "badge", dataset: { phase: view.state.phase } }, view.phase_zh),
        ),
        forms.length ? h("div", { class: "steps" }, forms) : null,
        h("h3", {}, "打印文书"),
        documentButtons(view),
        h(
          "div",
          { class: "actions" },
          h(
            "button",
            {
              type: "button",
              onclick: () => {
                replace(result);
                form.reset();
                item.dispatchEvent(new Event("change"));
                item.focus();
              },
            },
            "下一位",
          ),
        ),
      ),
    );
    const first = result.querySelector("form.step button[type=submit]");
    if (first) first.focus();
  }
}

/** 取号 (W1.1): an intake or a consultation number. */
function ticketCard() {
  const kind = select({ name: "ticket-kind" }, [["Intake", "受理业务号"], ["Consultation", "咨询业务号"]], "Intake");
  const shown = h("div", { class: "ticket", dataset: { ticket: "" }, "aria-live": "polite" });
  const detail = h("p", { class: "hint" });
  const button = h("button", { type: "submit" }, "取号");
  const form = h("form", { class: "card", "aria-label": "取号" }, h("h2", {}, "取号"), field("号码类型", kind), h("div", { class: "actions" }, button), shown, detail);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      const t = await api("POST", "/api/v1/tickets", { kind: kind.value });
      shown.textContent = t.display_number;
      detail.textContent = t.call_message || t.id;
      message("ok", `已取号 ${t.display_number}`);
    } catch (e) {
      showError(e);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/** Opens a case by number (e.g. to record supplied materials, T3.5). */
function lookupCard() {
  const id = h("input", { type: "text", name: "case-id", autocomplete: "off" });
  const form = h(
    "form",
    { class: "card", "aria-label": "按编号打开办件" },
    h("h2", {}, "补交材料 / 查办件"),
    field("办件编号", id),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "打开办件")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = id.value.trim();
    if (value) navigate(`#/case/${encodeURIComponent(value)}`);
  });
  return form;
}
