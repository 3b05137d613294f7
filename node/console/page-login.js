// #/login: staff id and password; the session token goes to sessionStorage.

import { api, h, field, session, message, showError, forgetCatalog, navigate } from "./lib.js";

export async function render(root) {
  const staff = h("input", { type: "text", name: "staff", autocomplete: "username", required: true, autofocus: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit" }, "登录");
  const form = h(
    "form",
    { class: "card", "aria-label": "登录" },
    h("h1", {}, "工作人员登录"),
    field("工号", staff),
    field("密码", password),
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const answer = await api("POST", "/api/v1/auth/login", { staff: staff.value.trim(), password: password.value });
      session.start(answer.token, null);
      const me = await api("GET", "/api/v1/auth/me");
      session.start(answer.token, me);
      forgetCatalog();
      message("ok", `${me.name},欢迎登录(${me.role_zh})`);
      navigate("#/");
    } catch (e) {
      password.value = "";
      showError(e);
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  root.append(h("div", { class: "login" }, form));
  staff.focus();
}
