/*
 * The login page: posts the user name and password as JSON to /auth/login (the server sets
 * an HttpOnly session cookie), then goes to `next` — a path on this site only, never another
 * origin. Texts come from /api/ui-messages like the map's.
 */
import { $, params } from "./common.js";
import { loadTexts, tr } from "./i18n.js";

/** `next` if it is a path on this site ("/…" but not "//host"), else the map. */
export function safeNext(value) {
  if (!value || !value.startsWith("/") || value.startsWith("//") || value.includes("\\")) {
    return "/";
  }
  return value;
}

async function submit(event) {
  event.preventDefault();
  const error = $("login-error");
  error.hidden = true;
  $("login-submit").disabled = true;
  try {
    const response = await fetch("/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({
        username: $("login-username").value.trim(),
        password: $("login-password").value,
      }),
    });
    if (response.ok) {
      window.location.assign(safeNext(params.get("next")));
      return;
    }
    error.textContent = response.status === 401 || response.status === 422
      ? tr("web_login_failed")
      : tr("web_load_failed", { what: tr("web_login_submit") });
  } catch (failure) {
    console.error(failure);
    error.textContent = tr("web_load_failed", { what: tr("web_login_submit") });
  }
  error.hidden = false;
  $("login-submit").disabled = false;
}

async function start() {
  await loadTexts();
  document.title = `${tr("web_login_submit")} · ${tr("web_title")}`;
  $("login-form").addEventListener("submit", submit);
  $("login-username").focus();
  document.body.dataset.ready = "true";
}

start().catch((error) => console.error(error));
