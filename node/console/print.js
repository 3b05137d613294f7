// Printing: a document page needs the bearer token, so it is fetched, put into an <iframe> as a
// blob URL in a preview panel, and printed with the panel's 「打印」 button.
//
// A blob document inherits the console's Content-Security-Policy, which would block the page's
// inline <style>; its rules are taken out and applied as constructed stylesheets instead (CSSOM
// is not subject to `style-src`), so the A4 layout and the page breaks between copies (联) survive.

import { api, h, showError, message } from "./lib.js";

/** Document kinds in the order a window hands them out, with their titles. */
export const DOCUMENT_TITLES = {
  intake_receipt: "材料受理及接收凭证",
  tolerance_receipt: "容缺受理回执单",
  commitment: "限期补齐材料承诺书",
  correction_notice: "补正通知书",
  non_acceptance: "不予受理决定书",
  materials_received: "材料接收清单",
  denial: "不予审批决定书",
  result_handover: "办理结果交接单",
};

let current = null;

function close() {
  if (!current) return;
  const { panel, url, opener } = current;
  panel.remove();
  URL.revokeObjectURL(url);
  current = null;
  if (opener && opener.isConnected) opener.focus();
}

/** The page's inline <style> rules, and the page without them (the CSP would block them). */
function splitStyles(html) {
  const css = [];
  const page = html.replace(/<style>([\s\S]*?)<\/style>/g, (_, rules) => {
    css.push(rules);
    return "";
  });
  return { page, css };
}

function applyStyles(frame, css) {
  const doc = frame.contentDocument;
  const win = frame.contentWindow;
  if (!doc || !win) return;
  try {
    doc.adoptedStyleSheets = css.map((rules) => {
      const sheet = new win.CSSStyleSheet();
      sheet.replaceSync(rules);
      return sheet;
    });
  } catch {
    // A browser without constructed stylesheets shows the page unstyled; it still prints.
  }
}

/** Opens the print preview of document `kind` of case `id`. */
export async function preview(id, kind, opener) {
  close();
  let html;
  try {
    const response = await api("GET", `/api/v1/cases/${encodeURIComponent(id)}/documents/${kind}`, undefined, {
      raw: true,
      accept: "text/html",
    });
    html = await response.text();
  } catch (e) {
    showError(e);
    return;
  }
  const { page, css } = splitStyles(html);
  const url = URL.createObjectURL(new Blob([page], { type: "text/html;charset=utf-8" }));
  const title = DOCUMENT_TITLES[kind] || kind;
  const frame = h("iframe", { title: `${title} 打印预览`, src: url, dataset: { printFrame: kind } });
  frame.addEventListener("load", () => applyStyles(frame, css));
  const printButton = h(
    "button",
    {
      type: "button",
      class: "primary",
      dataset: { print: kind },
      onclick: () => {
        if (frame.contentWindow) frame.contentWindow.print();
      },
    },
    "打印",
  );
  const closeButton = h("button", { type: "button", dataset: { printClose: "" }, onclick: close }, "关闭");
  const panel = h(
    "div",
    { class: "print-preview", role: "dialog", "aria-label": `${title} 打印预览`, dataset: { printPreview: kind } },
    h("header", {}, h("h2", {}, `${title} · ${id}`), printButton, closeButton),
    frame,
  );
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  document.body.append(panel);
  current = { panel, url, opener };
  message("ok", `${title}已生成,请核对后点击「打印」`);
  printButton.focus();
}

/** A button per document of the case, each opening its print preview. */
export function documentButtons(view) {
  const docs = view.documents || [];
  if (!docs.length) return h("p", { class: "empty" }, "暂无可打印的文书");
  return h(
    "div",
    { class: "docs", dataset: { documents: "" } },
    docs.map((kind) => {
      const button = h("button", { type: "button", dataset: { document: kind } }, `打印预览:${DOCUMENT_TITLES[kind] || kind}`);
      button.addEventListener("click", () => preview(view.id, kind, button));
      return button;
    }),
  );
}
