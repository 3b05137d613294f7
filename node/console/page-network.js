// #/network (being written).
import { h } from "./lib.js";
export async function render(root) {
  root.append(h("h1", {}, "网络状态"));
}
