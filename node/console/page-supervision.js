// #/supervision: cards by department and level (bars), cards recorded per day (lines), the
// card list and the conflict queue with resolution (O4).
// #/reports: the W10 indicators for a period, and the .xlsx download.

import { api, h, field, select, replace, catalog, session, roleName, roleDepartment, departmentName, isoDay, fmtTime, message, showError, LEVELS } from "./lib.js";
import { groupedBars, dailyLines } from "./charts.js";

/** Days the trend chart covers. */
const TREND_DAYS = 30;

export async function renderSupervision(root) {
  const cat = await catalog();
  const me = session.me;
  const supervisor = roleName(me) === "supervisor";
  root.append(h("h1", {}, "电子监察"));
  const body = h("div");
  root.append(body);

  async function draw() {
    const dept = roleDepartment(me);
    const trendQuery = new URLSearchParams({ from: isoDay(-(TREND_DAYS - 1)), to: isoDay() });
    const [cards, trend, conflicts, status] = await Promise.all([
      api("GET", "/api/v1/supervision/cards"),
      api("GET", `/api/v1/supervision/trend?${trendQuery}`),
      api("GET", "/api/v1/conflicts"),
      api("GET", "/api/v1/status"),
    ]);
    // The trend ends at the node's day (its clock may differ from this computer's).
    const nodeDay = String(status.now).slice(0, 10);
    let days = trend.days || [];
    if (nodeDay && days.length && days[days.length - 1].date !== nodeDay) {
      const shifted = await api("GET", `/api/v1/supervision/trend?${new URLSearchParams({ from: shift(nodeDay, -(TREND_DAYS - 1)), to: nodeDay })}`);
      days = shifted.days || days;
    }
    const rows = (cards.cards || []).filter((c) => !dept || c.department === dept);
    const byDept = new Map();
    for (const c of rows) {
      const g = byDept.get(c.department) || { label: departmentName(cat, c.department), values: {} };
      g.values[c.assessment.level] = (g.values[c.assessment.level] || 0) + 1;
      byDept.set(c.department, g);
    }
    const groups = [...byDept.values()];
    const legend = h("div", { class: "legend" }, LEVELS.map(([k, n]) => h("span", { class: k }, n)));
    const run = supervisor
      ? h(
          "button",
          {
            type: "button",
            dataset: { runSupervision: "" },
            onclick: async () => {
              try {
                const r = await api("POST", "/api/v1/supervision/run");
                message("ok", `已执行电子监察:检查 ${r.cases_checked} 件,记录红黄牌 ${r.cards_recorded} 张`);
                await draw();
              } catch (e) {
                showError(e);
              }
            },
          },
          "立即执行电子监察",
        )
      : null;
    replace(
      body,
      h(
        "section",
        { class: "card", "aria-label": "各部门预警与红黄牌", dataset: { chart: "cards-by-department" } },
        h("h2", {}, `各部门预警与红黄牌(未办结办件,共 ${rows.length} 项)`),
        legend,
        groups.length ? groupedBars("各部门预警与红黄牌", groups, LEVELS) : h("p", { class: "empty" }, "当前没有预警或红黄牌"),
        run ? h("div", { class: "actions" }, run) : null,
      ),
      h(
        "section",
        { class: "card", "aria-label": "每日记录的红黄牌", dataset: { chart: "cards-per-day" } },
        h("h2", {}, `近 ${TREND_DAYS} 天每日记录的预警与红黄牌`),
        legend.cloneNode(true),
        dailyLines("每日记录的预警与红黄牌", days, LEVELS),
      ),
      h(
        "section",
        { class: "card", "aria-label": "预警与红黄牌明细" },
        h("h2", {}, "预警与红黄牌明细"),
        rows.length
          ? h(
              "table",
              { dataset: { cardList: "" } },
              h("thead", {}, h("tr", {}, ["级别", "办件", "申请人", "事项", "部门", "时限", "到期"].map((t) => h("th", { scope: "col" }, t)))),
              h(
                "tbody",
                {},
                rows.map((c) =>
                  h(
                    "tr",
                    { dataset: { level: c.assessment.level } },
                    h("td", { class: `level-${c.assessment.level}` }, c.level_zh),
                    h("td", {}, h("a", { href: `#/case/${encodeURIComponent(c.case)}` }, c.case)),
                    h("td", {}, c.applicant),
                    h("td", {}, c.item_name),
                    h("td", {}, departmentName(cat, c.department)),
                    h("td", {}, `${c.duty_zh}(${c.rule})`),
                    h("td", {}, fmtTime(c.assessment.due)),
                  ),
                ),
              ),
            )
          : h("p", { class: "empty" }, "无"),
      ),
      conflictQueue(conflicts.conflicts || [], supervisor, draw),
    );
  }
  await draw();
}

function shift(day, days) {
  const d = new Date(`${day}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function conflictQueue(rows, supervisor, redraw) {
  const items = rows.flatMap((r) => r.conflicts.map((c) => ({ case: r.case, scope: r.scope, c })));
  return h(
    "section",
    { class: "card", "aria-label": "冲突队列", dataset: { conflicts: "" } },
    h("h2", {}, `同步后冲突队列(${items.length})`),
    items.length
      ? h(
          "ul",
          {},
          items.map(({ case: id, c }) => {
            const note = h("input", { type: "text", name: "note", required: true, id: `note-${c.id}` });
            const button = h("button", { type: "submit", dataset: { step: "conflict-resolve" } }, "处理冲突");
            const form = supervisor
              ? h("form", { class: "step" }, h("div", { class: "field" }, h("label", { for: note.id }, "处理意见"), note), h("div", { class: "actions" }, button))
              : null;
            if (form) {
              form.addEventListener("submit", async (event) => {
                event.preventDefault();
                button.disabled = true;
                try {
                  await api("POST", `/api/v1/cases/${encodeURIComponent(id)}/conflict-resolve`, { conflict: c.id, note: note.value.trim() });
                  message("ok", `${id} 的冲突已处理`);
                  await redraw();
                } catch (e) {
                  showError(e);
                } finally {
                  button.disabled = false;
                }
              });
            }
            return h(
              "li",
              { dataset: { conflict: c.id, case: id } },
              h("p", {}, h("a", { href: `#/case/${encodeURIComponent(id)}` }, id), `:${c.message}(依据 ${c.rule})`),
              form,
            );
          }),
        )
      : h("p", { class: "empty" }, "没有待处理的冲突"),
  );
}

function rate(r) {
  if (!r || !r.denominator) return "—";
  return `${(r.per_mille / 10).toFixed(1)}%(${r.numerator}/${r.denominator})`;
}

export async function renderReports(root) {
  const cat = await catalog();
  const me = session.me;
  const dept = roleDepartment(me);
  root.append(h("h1", {}, "统计报表"));
  const status = await api("GET", "/api/v1/status");
  const nodeDay = String(status.now).slice(0, 10);
  const from = h("input", { type: "date", name: "from", required: true, value: `${nodeDay.slice(0, 8)}01` });
  const to = h("input", { type: "date", name: "to", required: true, value: nodeDay });
  const department = dept
    ? select({ name: "department", disabled: true }, [[dept, departmentName(cat, dept)]], dept)
    : select({ name: "department" }, [["", "全部部门"], ...(cat.departments || []).map((d) => [d.code, d.name])], "");
  const submit = h("button", { type: "submit" }, "查询");
  const download = h("button", { type: "button", dataset: { download: "xlsx" } }, "下载 .xlsx");
  const form = h(
    "form",
    { class: "card", "aria-label": "报表期间" },
    h("div", { class: "grid" }, field("起始日期", from), field("截止日期", to), field("部门", department)),
    h("div", { class: "actions" }, submit, download),
  );
  const out = h("div", { dataset: { report: "" } });
  root.append(form, out);

  function query() {
    const q = new URLSearchParams({ from: from.value, to: to.value });
    if (department.value) q.set("department", department.value);
    return q;
  }
  async function load() {
    try {
      const r = await api("GET", `/api/v1/reports?${query()}`);
      const names = r.department_names || {};
      const rows = [...(r.indicators || []).map((d) => ({ name: names[d.department] || d.department, f: d })), { name: "合计", f: r.total }];
      replace(
        out,
        h(
          "section",
          { class: "card", "aria-label": "绩效指标" },
          h("h2", {}, `绩效指标 ${r.period.from} 至 ${r.period.to}`),
          h(
            "table",
            {},
            h("thead", {}, h("tr", {}, ["部门", "办件量", "标准化率", "无纸化率", "综合受理率", "网上办理率", "联合办理率", "按时办结率", "容缺受理"].map((t) => h("th", { scope: "col" }, t)))),
            h(
              "tbody",
              {},
              rows.map(({ name, f }) =>
                h(
                  "tr",
                  {},
                  h("td", {}, name),
                  h("td", { class: "num" }, String(f.cases)),
                  [f.standardisation, f.paperless, f.comprehensive, f.online, f.joint, f.on_time].map((x) => h("td", { class: "num" }, rate(x))),
                  h("td", { class: "num" }, String(f.tolerance_cases)),
                ),
              ),
            ),
          ),
          h("h3", {}, "咨询台账分析"),
          h("p", {}, `咨询 ${r.consultations.total} 次,疑难问题 ${r.consultations.hard_questions} 个,逾期答复 ${r.consultations.answered_late} 个`),
        ),
      );
    } catch (e) {
      showError(e);
    }
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  download.addEventListener("click", async () => {
    try {
      const response = await api("GET", `/api/v1/reports/xlsx?${query()}`, undefined, { raw: true });
      const blob = await response.blob();
      const disposition = response.headers.get("Content-Disposition") || "";
      const m = /filename\*=UTF-8''([^;]+)/i.exec(disposition) || /filename="?([^";]+)"?/i.exec(disposition);
      const name = m ? decodeURIComponent(m[1]) : `报表-${from.value}-${to.value}.xlsx`;
      const url = URL.createObjectURL(blob);
      const a = h("a", { href: url, download: name, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      message("ok", `已下载 ${name}`);
    } catch (e) {
      showError(e);
    }
  });
  await load();
  from.focus();
}
