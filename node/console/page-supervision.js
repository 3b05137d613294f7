// #/supervision and #/reports (being written).
import { h } from "./lib.js";
export async function renderSupervision(root) {
  root.append(h("h1", {}, "电子监察"));
}
export async function renderReports(root) {
  root.append(h("h1", {}, "统计报表"));
}
