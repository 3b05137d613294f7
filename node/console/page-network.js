// #/network: this node and each peer: connected, last contact, documents behind.

import { api, h, replace, fmtMs } from "./lib.js";

/** How often the page refreshes itself. */
const REFRESH_MS = 5000;

export async function render(root) {
  root.append(h("h1", {}, "网络状态"));
  const body = h("div", { dataset: { network: "" } });
  root.append(body);
  async function draw() {
    const s = await api("GET", "/api/v1/status");
    const peers = s.peers || [];
    replace(
      body,
      h(
        "section",
        { class: "card", "aria-label": "本节点" },
        h("h2", {}, "本节点"),
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "节点"),
          h("dd", { dataset: { node: s.node } }, `${s.node}(${s.role === "hall" ? "县政务服务中心大厅" : "乡镇便民服务点"},${s.scope})`),
          h("dt", {}, "联网状态"),
          h("dd", { dataset: { offline: String(Boolean(s.offline)) } }, s.sync_enabled ? (s.offline ? h("span", { class: "badge bad" }, "与大厅断开,受理照常进行") : h("span", { class: "badge ok" }, `已连接 ${s.peers_connected} 个节点`)) : "未启用同步(单机运行)"),
          h("dt", {}, "本节点文档"),
          h("dd", {}, `${s.documents} 份`),
          h("dt", {}, "节点时间"),
          h("dd", {}, String(s.now).replace("T", " ").slice(0, 19)),
        ),
      ),
      h(
        "section",
        { class: "card", "aria-label": "对端节点" },
        h("h2", {}, "对端节点"),
        peers.length
          ? h(
              "table",
              { dataset: { peers: "" } },
              h("thead", {}, h("tr", {}, ["节点", "连接", "最后联系", "对方待收文档", "已收文档", "最近错误"].map((t) => h("th", { scope: "col" }, t)))),
              h(
                "tbody",
                {},
                peers.map((p) =>
                  h(
                    "tr",
                    { dataset: { peer: p.name, connected: String(p.connected) } },
                    h("td", {}, `${p.name}${p.role ? `(${p.role === "hall" ? "大厅" : "乡镇"})` : ""}`),
                    h("td", {}, h("span", { class: p.connected ? "badge ok" : "badge bad" }, p.connected ? "已连接" : "未连接")),
                    h("td", {}, fmtMs(p.last_contact_ms)),
                    h("td", { class: "num", dataset: { docsBehind: String(p.docs_behind) } }, String(p.docs_behind)),
                    h("td", { class: "num" }, String(p.docs_received)),
                    h("td", {}, p.last_error || "—"),
                  ),
                ),
              ),
            )
          : h("p", { class: "empty" }, s.sync_enabled ? "尚无对端节点联系本节点" : "未启用同步"),
      ),
    );
  }
  await draw();
  const timer = setInterval(() => {
    if (!root.isConnected) {
      clearInterval(timer);
      return;
    }
    draw().catch(() => {});
  }, REFRESH_MS);
}
