// #/inbox and #/issuing (being written).
import { h } from "./lib.js";
export async function renderInbox(root) {
  root.append(h("h1", {}, "部门待办"));
}
export async function renderIssuing(root) {
  root.append(h("h1", {}, "统一发证"));
}
