/*
 * UI text: every word comes from /api/ui-messages (the message catalogue,
 * models/i18n/web.toml), kept in state.messages. No text is written in these scripts.
 */
import { $, getJSON, params, state } from "./common.js";

/**
 * Load the page's texts (?lang=, else the deployment's default), fill the page with them and
 * make the language button switch between Chinese and English.
 */
export async function loadTexts() {
  const asked = params.get("lang");
  const ui = await getJSON("/api/ui-messages", asked ? { lang: asked } : {});
  state.lang = ui.lang;
  state.messages = ui.messages;
  document.documentElement.lang = state.lang;
  applyTexts(document);
  $("lang-switch").addEventListener("click", () => {
    const url = new URL(window.location.href);
    url.searchParams.set("lang", state.lang === "en" ? "zh-CN" : "en");
    window.location.assign(url);
  });
}

/** Catalogue text of `key` with `{name}` placeholders filled from `values`. */
export function tr(key, values) {
  const text = Object.prototype.hasOwnProperty.call(state.messages, key)
    ? state.messages[key]
    : key;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    values && name in values ? String(values[name]) : whole,
  );
}

/** Fill the data-i18n, data-i18n-title and data-i18n-aria elements under `root`. */
export function applyTexts(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = tr(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-title]")) {
    el.title = tr(el.dataset.i18nTitle);
  }
  for (const el of root.querySelectorAll("[data-i18n-aria]")) {
    el.setAttribute("aria-label", tr(el.dataset.i18nAria));
  }
  document.title = tr("web_title");
}

export function showStatus(text) {
  const el = $("status");
  el.textContent = text || "";
  el.hidden = !text;
}

export function formatNumber(value, digits) {
  if (value === null || value === undefined || Number.isNaN(value)) return tr("web_no_value");
  return Number(value).toFixed(digits);
}
