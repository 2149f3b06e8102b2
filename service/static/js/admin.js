/*
 * The admin page: the job history (GET /api/jobs) and the schedules (GET /api/schedules),
 * read with the session cookie. Callers whose role lacks jobs:read get the catalogue's 403
 * message instead of the tables. Every text comes from /api/ui-messages.
 */
import { $, getJSON, params } from "./common.js";
import { loadTexts, tr } from "./i18n.js";

const STATES = ["queued", "running", "retrying", "succeeded", "failed", "cancelled", "dead"];
const PAGE = 200;

/** "2026-11-28T08:55:00+08:00" as "2026-11-28 08:55:00" (the API gives local times). */
function when(value) {
  return value ? value.replace("T", " ").replace(/([+-]\d\d:\d\d|Z)$/, "") : "";
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (className) td.className = className;
  row.append(td);
  return td;
}

function emptyRow(body, columns, key) {
  const row = document.createElement("tr");
  cell(row, tr(key)).colSpan = columns;
  body.append(row);
}

function showMessage(text) {
  const el = $("admin-message");
  el.textContent = text || "";
  el.hidden = !text;
}

function fillStateFilter() {
  const select = $("state-filter");
  const all = new Option(tr("web_admin_state_all"), "");
  select.append(all, ...STATES.map((s) => new Option(tr(`web_admin_state_${s}`), s)));
  select.value = STATES.includes(params.get("state")) ? params.get("state") : "";
  select.addEventListener("change", () => {
    const url = new URL(window.location.href);
    if (select.value) url.searchParams.set("state", select.value);
    else url.searchParams.delete("state");
    window.history.replaceState(null, "", url);
    refresh();
  });
}

function renderJobs(page) {
  const body = $("jobs-body");
  body.replaceChildren();
  $("jobs-count").textContent = tr("web_admin_count", { count: page.number_matched });
  if (!page.jobs.length) emptyRow(body, 9, "web_admin_no_jobs");
  for (const job of page.jobs) {
    const row = document.createElement("tr");
    row.dataset.state = job.state;
    row.title = job.id;
    cell(row, tr(`web_admin_state_${job.state}`));
    cell(row, job.kind);
    cell(row, `${job.attempt}/${job.max_attempts}`);
    cell(row, job.schedule);
    cell(row, when(job.created_at));
    cell(row, when(job.started_at));
    cell(row, when(job.finished_at));
    cell(row, job.state === "queued" || job.state === "retrying" ? when(job.run_after) : "");
    cell(row, job.error, "error");
    body.append(row);
  }
}

function renderSchedules(schedules) {
  const body = $("schedules-body");
  body.replaceChildren();
  if (!schedules.length) emptyRow(body, 7, "web_admin_no_schedules");
  for (const s of schedules) {
    const row = document.createElement("tr");
    cell(row, s.name);
    cell(row, s.kind);
    cell(row, s.cron);
    cell(row, s.timezone);
    cell(row, when(s.next_run_at));
    cell(row, tr(s.enabled ? "web_admin_yes" : "web_admin_no"));
    cell(row, tr("web_admin_backoff", { attempts: s.max_attempts, seconds: s.backoff_seconds }));
    body.append(row);
  }
}

async function refresh() {
  const state = $("state-filter").value;
  const lang = params.get("lang");
  try {
    const [page, schedules] = await Promise.all([
      getJSON("/api/jobs", { limit: PAGE, state: state || null, lang }),
      getJSON("/api/schedules", { lang }),
    ]);
    showMessage("");
    $("jobs-section").hidden = false;
    $("schedules-section").hidden = false;
    renderJobs(page);
    renderSchedules(schedules);
  } catch (failure) {
    console.error(failure);
    if (String(failure.message).startsWith("403")) {
      $("jobs-section").hidden = true;
      $("schedules-section").hidden = true;
      showMessage(tr("web_admin_forbidden"));
    } else {
      showMessage(tr("web_load_failed", { what: tr("web_admin_jobs") }));
    }
  }
}

async function start() {
  await loadTexts();
  document.title = `${tr("web_admin_title")} · ${tr("web_title")}`;
  fillStateFilter();
  $("refresh").addEventListener("click", refresh);
  await refresh();
  document.body.dataset.ready = "true"; // for tests and scripts: texts and tables are in
}

start();
