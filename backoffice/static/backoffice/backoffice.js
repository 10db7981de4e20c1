// The provider page's behaviour: fetch the backoffice REST API with the session and the CSRF
// token, and render what it answers. The API only ever answers masked credentials; the secret
// inputs are sent once and cleared. Every value is written with textContent (never HTML).

const config = JSON.parse(document.getElementById("backoffice-config").textContent);
const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
const { urls, location, displayName } = config;

const SYNC_POLL_MS = 1000;
const ORDERS_POLL_BUSY_MS = 2000;
const ORDERS_POLL_IDLE_MS = 15000;
const IDLE_REFRESH_MS = 30000;

const STAGES = ["menu", "categories", "products", "display_groups"];
const ENTITIES = [
  ["categories", "Categories"],
  ["items", "Items"],
  ["modifier_groups", "Modifier groups"],
  ["display_groups", "Display groups"],
  ["menus", "Menus"],
  ["inventory", "Inventory"],
];
const REPORT_COLUMNS = ["created", "updated", "deleted", "skipped", "warnings"];
const POS_STATUS = {
  queued: ["Queued", "info"],
  table_assigned: ["Table assigned", "info"],
  sending: ["Sending", "info"],
  order_sent: ["Order sent", "info"],
  bill_checked: ["Bill checked", "info"],
  paying: ["Paying", "info"],
  paid: ["Paid", "ok"],
  failed: ["Failed", "bad"],
  need_requeue: ["Waiting for the register", "warn"],
};
const FINISHED_PUSH = new Set(["paid", "failed", "need_requeue"]);
const FIELD_LABELS = {
  base_url: "Connection URL",
  signature_key: "Signature Key",
  encryption_token: "Encryption Token",
  enable_encryption: "Encrypt traffic",
  sync_time: "Daily sync time",
};

const RUN_STATUS = {
  in_progress: ["Running", "info"],
  success: ["Applied", "ok"],
  error: ["Failed", "bad"],
  needs_review: ["Needs review", "warn"],
  preview: ["Preview", "info"],
  discarded: ["Discarded", ""],
};
const HELD = new Set(["needs_review", "preview"]);
const DIFF_KINDS = [
  ["created", "Created"],
  ["updated", "Updated"],
  ["deleted", "Deleted"],
];
const state = {
  integration: undefined,
  syncPolling: false,
  ordersTimer: null,
  idleTimer: null,
  openRun: null,
};

// --- helpers ---------------------------------------------------------------------------------

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];
const bound = (name) => $(`[data-bind="${name}"]`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const fill = (url, id) => url.replace("__id__", encodeURIComponent(id));

function el(tag, { text, className, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

const dateFormat = new Intl.DateTimeFormat("en-GB", {
  timeZone: location.timezone,
  day: "numeric",
  month: "short",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

/** A <time> in the location's timezone, e.g. "27 Nov 2026, 06:00". */
function localTime(iso, withZone = false) {
  const text = dateFormat.format(new Date(iso)) + (withZone ? ` (${location.timezone})` : "");
  return el("time", { text, attrs: { datetime: iso } });
}

function money(amount, currency) {
  try {
    return new Intl.NumberFormat("en-IE", { style: "currency", currency }).format(Number(amount));
  } catch {
    return `${amount} ${currency}`;
  }
}

const plural = (count, noun) => `${count} ${noun}${count === 1 ? "" : "s"}`;

function badge(text, tone) {
  return el("span", { text, className: `badge ${tone}` });
}

function notify(message, tone = "info") {
  const notice = $("#notice");
  notice.textContent = message;
  notice.className = `notice ${tone}`;
  notice.hidden = false;
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `The server answered ${status}.`);
    this.status = status;
    this.body = body;
  }
}

async function api(method, url, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (method !== "GET") init.headers["X-CSRFToken"] = csrfToken;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(0, { detail: "The server did not answer; check the network and try again." });
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.status === 401) {
    throw new ApiError(401, { detail: "Your session has ended: reload the page to log in again." });
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Run `work` with `button` disabled and relabelled; reports failures in the notice. */
async function busy(button, label, work) {
  const original = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = label;
  try {
    return await work();
  } catch (error) {
    notify(error.message, "bad");
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = original;
  }
}

// --- the integration -------------------------------------------------------------------------

async function loadIntegration() {
  try {
    state.integration = await api("GET", urls.integration);
  } catch (error) {
    if (error.status !== 404) throw error;
    state.integration = null;
  }
  renderIntegration();
  return state.integration;
}

function renderIntegration() {
  const integration = state.integration;
  $('[data-view="loading"]').hidden = true;
  $('[data-view="connect"]').hidden = integration !== null;
  for (const view of $$('[data-view="integration"]')) view.hidden = integration === null;
  const stateBadge = bound("state-badge");
  stateBadge.hidden = false;
  if (integration === null) {
    stateBadge.textContent = "Not connected";
    stateBadge.className = "badge";
    return;
  }
  const connected = integration.connection.status === "connected";
  stateBadge.textContent = connected ? "Connected" : "Disconnected";
  stateBadge.className = `badge ${connected ? "ok" : "bad"}`;
  renderStatus(integration, connected);
  renderCredentials(integration);
  renderSync(integration.sync_status);
  renderLog();
}

function renderStatus(integration, connected) {
  const connection = integration.connection;
  const connectionBadge = bound("connection-badge");
  connectionBadge.textContent = connected ? "Connected" : "Disconnected";
  connectionBadge.className = `badge ${connected ? "ok" : "bad"}`;
  bound("connection-message").textContent = connection.message || "";

  const sync = integration.sync_status;
  const lastSync = bound("last-sync");
  lastSync.replaceChildren();
  if (sync.last_sync) {
    lastSync.append(localTime(sync.last_sync, true));
    if (sync.status === "error") lastSync.append(" ", badge("Failed", "bad"));
  } else {
    lastSync.textContent = sync.status === "in_progress" ? "The first sync is running." : "Never";
  }
  const nextSync = bound("next-sync");
  nextSync.replaceChildren();
  const next = integration.settings.next_run_time;
  if (next) nextSync.append(localTime(next, true));
  else nextSync.textContent = "No daily sync: set a time under Update settings.";
}

function renderCredentials(integration) {
  const { credentials, settings } = integration;
  bound("base_url").textContent = credentials.base_url;
  bound("signature_key").textContent = credentials.signature_key;
  bound("encryption_token").textContent = credentials.encryption_token;
  bound("enable_encryption").textContent = credentials.enable_encryption ? "On" : "Off";
  const signatures = bound("answer_signatures");
  signatures.replaceChildren(
    settings.allow_unsigned_responses
      ? badge("Warning: unsigned answers are accepted; anyone between us and the register could forge them", "warn")
      : "Must be signed by the register",
  );
  bound("sync_time").textContent = settings.sync_time_local
    ? `${settings.sync_time_local} (${location.timezone})`
    : "Off";
  for (const hint of $$('[data-form="replace"] [data-secret-hint]')) {
    const name = hint.dataset.secretHint;
    hint.textContent = `Currently ${credentials[name]}. Enter the whole value again.`;
  }
}

function renderSync(sync) {
  const message = bound("sync-message");
  const stages = bound("stages");
  if (!sync.status) {
    stages.hidden = true;
    bound("report-wrap").hidden = true;
    bound("report-extra").hidden = true;
    return;
  }
  message.textContent = sync.message || "";
  message.className =
    sync.status === "error" ? "form-error" : sync.status === "needs_review" ? "warn-text" : "muted";
  stages.hidden = false;
  const failedAt = sync.status === "error" ? sync.details?.stage ?? sync.stage : null;
  const current = sync.status === "in_progress" ? STAGES.indexOf(sync.stage) : -1;
  STAGES.forEach((stage, index) => {
    const item = $(`[data-stage="${stage}"]`, stages);
    let stageState = "waiting";
    if (sync.status === "success" || HELD.has(sync.status)) stageState = "done";
    else if (failedAt) stageState = stage === failedAt ? "failed" : index < STAGES.indexOf(failedAt) ? "done" : "waiting";
    else if (current >= 0) stageState = index < current ? "done" : index === current ? "current" : "waiting";
    item.dataset.state = stageState;
    item.removeAttribute("aria-current");
    if (stageState === "current") item.setAttribute("aria-current", "step");
    $(".stage-state", item).textContent = {
      done: "Done",
      current: "In progress…",
      failed: "Failed",
      waiting: sync.status === "in_progress" ? "Waiting" : "Not run",
    }[stageState];
  });
  renderReport(sync);
}

function renderReport(sync) {
  const report = sync.status === "success" ? sync.details?.report : null;
  bound("report-wrap").hidden = !report;
  const extra = bound("report-extra");
  extra.hidden = !report;
  if (!report) return;
  bound("report").replaceChildren(
    ...ENTITIES.map(([key, label]) =>
      el("tr", { attrs: { "data-entity": key } }, [
        el("th", { text: label, attrs: { scope: "row" } }),
        ...REPORT_COLUMNS.map((column) =>
          el("td", { text: report[key]?.[column] ?? 0, attrs: { "data-count": column } }),
        ),
      ]),
    ),
  );
  const tables = sync.details.tables;
  const parts = [plural(sync.details.display_groups_imported ?? 0, "display group") + " in the menu"];
  if (tables) parts.push(`${plural(tables.tables, "table")} in the table section`);
  const warnings = sync.details.warnings || [];
  if (warnings.length) parts.push(`${plural(warnings.length, "warning")} (see the log)`);
  extra.textContent = `${parts.join("; ")}.`;
}

function renderLog() {
  const level = bound("log-level").value;
  const entries = (state.integration?.logs || []).filter((entry) => !level || entry.level === level);
  bound("log-empty").hidden = entries.length > 0;
  const tone = { info: "info", warning: "warn", error: "bad" };
  bound("log").replaceChildren(
    ...entries.map((entry) =>
      el("li", { attrs: { "data-level": entry.level } }, [
        localTime(entry.at),
        el("span", {}, [badge(entry.level, tone[entry.level] || "info")]),
        el("div", {}, [
          entry.message,
          entry.count > 1 ? el("span", { text: ` (×${entry.count})`, className: "repeat" }) : "",
          el("span", { text: entry.event.replaceAll("_", " "), className: "event" }),
        ]),
      ]),
    ),
  );
}

// --- connect, replace credentials, update settings -------------------------------------------

function formBody(form) {
  const data = new FormData(form);
  // The settings form sends only the sync time: the API keeps the stored credentials.
  const body =
    form.dataset.form === "settings"
      ? {}
      : {
          base_url: data.get("base_url"),
          signature_key: data.get("signature_key"),
          encryption_token: data.get("encryption_token"),
          enable_encryption: form.elements.enable_encryption.checked,
        };
  if (form.elements.sync_time) body.sync_time = data.get("sync_time") || null;
  return body;
}

function clearErrors(form) {
  for (const node of $$("[data-error-for]", form)) {
    node.textContent = "";
    node.hidden = true;
  }
  for (const input of $$("[aria-invalid]", form)) input.removeAttribute("aria-invalid");
}

/** Put each message of a 400 body next to its field; the rest at the top of the form. */
function showErrors(form, errors) {
  const general = [];
  let first = null;
  for (const [field, messages] of Object.entries(errors || {})) {
    const text = [].concat(messages).join(" ");
    const slot = $(`[data-error-for="${field}"]`, form);
    const input = form.elements[field];
    if (slot && field !== "non_field_errors") {
      slot.textContent = text;
      slot.hidden = false;
      input?.setAttribute("aria-invalid", "true");
      first = first || input;
    } else {
      general.push(field === "non_field_errors" ? text : `${FIELD_LABELS[field] || field}: ${text}`);
    }
  }
  const top = $('[data-error-for="non_field_errors"]', form);
  if (general.length) {
    top.textContent = general.join(" ");
    top.hidden = false;
  }
  if (first) {
    first.focus();
  } else {
    top.setAttribute("tabindex", "-1");
    top.focus();
  }
}

async function submitCredentials(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const kind = form.dataset.form;
  const submit = $('button[type="submit"]', form);
  clearErrors(form);
  await busy(submit, "Saving…", async () => {
    try {
      state.integration = await api("POST", urls.integration, formBody(form));
    } catch (error) {
      if (error.status === 400) {
        showErrors(form, error.body);
        return;
      }
      throw error;
    }
    form.reset();
    const panel = form.closest("details");
    if (panel) panel.open = false;
    renderIntegration();
    notify(
      kind === "settings"
        ? "Settings saved."
        : `Credentials saved. Use Test connection to check that the ${displayName} register accepts them.`,
      "ok",
    );
    $("#status-title").focus();
  });
}

function prefill(panel) {
  if (!panel.open || !state.integration) return;
  const form = $("form", panel);
  const { credentials, settings } = state.integration;
  if (form.elements.base_url) form.elements.base_url.value = credentials.base_url;
  if (form.elements.enable_encryption) form.elements.enable_encryption.checked = credentials.enable_encryption;
  if (form.elements.sync_time) form.elements.sync_time.value = settings.sync_time_local || "";
  clearErrors(form);
}

// --- actions ---------------------------------------------------------------------------------

async function testConnection(event) {
  await busy(event.currentTarget, "Testing…", async () => {
    const result = await api("POST", urls.test);
    if (result.connected) notify(result.message, "ok");
    else notify("Connection test failed: the reason is shown under Status.", "bad");
    await loadIntegration();
  });
}

async function syncNow(event) {
  const button = event.currentTarget;
  await busy(button, "Starting…", async () => {
    try {
      await api("POST", urls.sync);
      notify("Menu sync started: the stages below show its progress.", "info");
    } catch (error) {
      if (error.status !== 409) throw error;
      notify(error.message, "info");
    }
  });
  await followSync(button);
}

/** Poll the integration while its import runs; then announce the outcome. */
async function followSync(button) {
  if (state.syncPolling) return;
  state.syncPolling = true;
  button.disabled = true;
  try {
    await loadIntegration();
    while (state.integration?.sync_status.status === "in_progress") {
      await sleep(SYNC_POLL_MS);
      await loadIntegration();
    }
    const sync = state.integration?.sync_status;
    if (sync) notify(sync.message, { success: "ok", error: "bad" }[sync.status] || "info");
    await loadTables();
    await loadRuns();
  } catch (error) {
    notify(error.message, "bad");
  } finally {
    state.syncPolling = false;
    button.disabled = false;
  }
}

// --- import history: runs, their diff, apply / discard ------------------------------------

async function previewNow(event) {
  const button = event.currentTarget;
  let started = null;
  await busy(button, "Starting…", async () => {
    try {
      started = await api("POST", urls.sync, { preview: true });
      notify("Preview started: nothing is written to the menu.", "info");
    } catch (error) {
      if (error.status !== 409) throw error;
      notify(error.message, "info");
    }
  });
  if (started) state.openRun = started.run_id;
  await followSync($('[data-action="sync"]'));
}

async function loadRuns() {
  let page;
  try {
    page = await api("GET", `${urls.imports}?limit=10`);
  } catch (error) {
    if (error.status === 404) return; // not connected
    notify(`Import history: ${error.message}`, "bad");
    return;
  }
  bound("imports-empty").hidden = page.results.length > 0;
  bound("imports-wrap").hidden = page.results.length === 0;
  bound("imports").replaceChildren(...page.results.map(runRow));
  await loadVersions();
  const held = page.results.find((run) => HELD.has(run.status));
  const open = state.openRun || held?.id;
  if (open) await openRun(open);
  else bound("run-detail").hidden = true;
}

function itemCounts(report) {
  const items = report?.items;
  if (!items) return "";
  return `${items.created} new, ${items.updated} changed, ${items.deleted} removed`;
}

function runRow(run) {
  const [label, tone] = RUN_STATUS[run.status] || [run.status, ""];
  const started = dateFormat.format(new Date(run.created_at));
  const show = el("button", {
    text: "Details",
    className: "button small",
    attrs: { type: "button", "aria-label": `Details of the import of ${started}` },
  });
  show.addEventListener("click", () => openRun(run.id));
  return el("tr", { attrs: { "data-run": run.id, "data-status": run.status } }, [
    el("td", {}, [localTime(run.created_at)]),
    el("td", { text: run.preview ? `${run.trigger} preview` : run.trigger }),
    el("td", {}, [badge(label, tone)]),
    el("td", { text: itemCounts(run.report) }),
    el("td", { text: run.skipped?.total ?? "", className: "num" }),
    el("td", {}, [show]),
  ]);
}

function runEntry(entry) {
  return entry.pos_id ? `${entry.name ?? "(no name)"} (POS ${entry.pos_id})` : entry.name ?? "";
}

function fieldChange(name, { old, new: value }) {
  const show = (v) => (Array.isArray(v) ? v.join(", ") : v === null || v === "" ? "—" : String(v));
  return `${name.replaceAll("_", " ")}: ${show(old)} → ${show(value)}`;
}

function diffSection(diff) {
  const blocks = [];
  for (const [key, label] of ENTITIES) {
    const entity = diff?.[key];
    if (!entity) continue;
    for (const [kind, kindLabel] of DIFF_KINDS) {
      const { total, entries } = entity[kind];
      if (!total) continue;
      const lines = entries.map((entry) =>
        el("li", {
          text:
            kind === "updated"
              ? `${runEntry(entry)}: ${Object.entries(entry.changes)
                  .map(([name, values]) => fieldChange(name, values))
                  .join("; ")}`
              : runEntry(entry),
        }),
      );
      if (total > entries.length) lines.push(el("li", { text: `… and ${total - entries.length} more`, className: "muted" }));
      blocks.push(
        el("div", { className: "diff-block", attrs: { "data-diff": `${key}.${kind}` } }, [
          el("h4", { text: `${label}: ${kindLabel.toLowerCase()} (${total})` }),
          el("ul", { className: "diff-list" }, lines),
        ]),
      );
    }
  }
  return blocks.length ? blocks : [el("p", { text: "No change to the menu.", className: "muted" })];
}

function skippedSection(skipped) {
  if (!skipped?.total) return [];
  const rows = skipped.entries.map((entry) =>
    el("tr", { attrs: { "data-skip": entry.reason } }, [
      el("td", { text: entry.pos_id ?? "—" }),
      el("td", { text: entry.name ?? "—" }),
      el("td", { text: entry.text }),
      el("td", { text: entry.removed ? "Removed from the menu" : "" }),
    ]),
  );
  const table = el("table", { className: "skips" }, [
    el("caption", { text: `Why ${plural(skipped.total, "register product")} are not on the menu` }),
    el("thead", {}, [
      el("tr", {}, ["POS id", "Name", "Reason", ""].map((text) => el("th", { text, attrs: { scope: "col" } }))),
    ]),
    el("tbody", {}, rows),
  ]);
  const parts = [el("div", { className: "table-wrap" }, [table])];
  if (skipped.truncated) parts.push(el("p", { text: `The first ${skipped.entries.length} are listed.`, className: "muted" }));
  return parts;
}

async function openRun(id) {
  let run;
  try {
    run = await api("GET", fill(urls.importRun, id));
  } catch (error) {
    if (error.status === 404) {
      state.openRun = null;
      bound("run-detail").hidden = true;
      return;
    }
    throw error;
  }
  state.openRun = id;
  const [label, tone] = RUN_STATUS[run.status] || [run.status, ""];
  const detail = bound("run-detail");
  const children = [
    el("h3", {}, [run.preview ? "Preview of " : "Import of ", localTime(run.created_at), " ", badge(label, tone)]),
    el("p", { text: run.message, className: run.status === "error" ? "form-error" : "muted" }),
  ];
  if (run.guard?.held && run.status === "needs_review") {
    children.push(el("p", { text: `Held for review: ${run.guard.reason}.`, className: "warn-text", attrs: { "data-bind": "guard" } }));
  }
  if (HELD.has(run.status)) {
    const apply = el("button", { text: "Apply", className: "button primary", attrs: { type: "button", "data-action": "apply-run" } });
    const discard = el("button", { text: "Discard", className: "button danger", attrs: { type: "button", "data-action": "discard-run" } });
    apply.addEventListener("click", () => applyRun(apply, run.id));
    discard.addEventListener("click", () => discardRun(discard, run.id));
    children.push(el("div", { className: "actions" }, [apply, discard]));
  }
  if (run.diff) children.push(el("div", { className: "diff" }, diffSection(run.diff)));
  children.push(...skippedSection(run.skipped));
  detail.replaceChildren(...children);
  detail.dataset.run = run.id;
  detail.dataset.status = run.status;
  detail.hidden = false;
}

async function applyRun(button, id) {
  const applied = await busy(button, "Applying…", async () => {
    await api("POST", fill(urls.applyRun, id));
    notify("Applying the reviewed import: the stages above show its progress.", "info");
    return true;
  });
  if (applied) await followSync($('[data-action="sync"]'));
}

async function discardRun(button, id) {
  await busy(button, "Discarding…", async () => {
    await api("POST", fill(urls.discardRun, id));
    notify("Import discarded; the menu is unchanged.", "ok");
    await loadIntegration();
    await loadRuns();
  });
}

async function loadVersions() {
  let versions;
  try {
    versions = await api("GET", urls.versions);
  } catch (error) {
    if (error.status !== 404) notify(`Menu versions: ${error.message}`, "bad");
    return;
  }
  bound("versions-empty").hidden = versions.length > 0;
  bound("versions").replaceChildren(
    ...versions.map((version) => {
      const restore = el("button", {
        text: "Restore",
        className: "button small",
        attrs: { type: "button", "aria-label": `Restore the menu replaced on ${dateFormat.format(new Date(version.created_at))}` },
      });
      restore.addEventListener("click", () => restoreVersion(restore, version));
      return el("li", { attrs: { "data-version": version.id } }, [
        "Replaced ",
        localTime(version.created_at),
        `: ${plural(version.counts.items ?? 0, "item")}, ${plural(version.counts.display_groups ?? 0, "display group")} `,
        restore,
      ]);
    }),
  );
}

async function restoreVersion(button, version) {
  const when = dateFormat.format(new Date(version.created_at));
  if (!window.confirm(`Restore the ${displayName} menu as it was before ${when}? The current menu is kept as a version.`)) return;
  await busy(button, "Restoring…", async () => {
    const run = await api("POST", fill(urls.restoreVersion, version.id));
    notify(run.message, "ok");
    state.openRun = run.id;
    await loadIntegration();
    await loadRuns();
  });
}

function confirmDisconnect() {
  $("#disconnect-dialog").showModal();
}

async function disconnect() {
  const dialog = $("#disconnect-dialog");
  if (dialog.returnValue !== "confirm") return;
  const button = $('[data-action="disconnect"]');
  await busy(button, "Disconnecting…", async () => {
    await api("DELETE", urls.integration);
    state.integration = null;
    renderIntegration();
    await loadTables();
    notify(
      `${displayName} disconnected: the integration and everything it imported were removed.`,
      "ok",
    );
    $("#connect-title").focus();
  });
}

// --- orders ----------------------------------------------------------------------------------

function pushOf(order) {
  return order.external_data[order.pos_provider] || order.external_data[config.provider] || null;
}

async function loadOrders() {
  clearTimeout(state.ordersTimer);
  let inFlight = false;
  try {
    const page = await api("GET", `${urls.transactions}?page_size=20`);
    renderOrders(page.results);
    inFlight = page.results.some((order) => {
      const push = pushOf(order);
      return push && !FINISHED_PUSH.has(push.status);
    });
  } catch (error) {
    notify(`Orders: ${error.message}`, "bad");
  }
  state.ordersTimer = setTimeout(loadOrders, inFlight ? ORDERS_POLL_BUSY_MS : ORDERS_POLL_IDLE_MS);
}

// How the register prints each line's VAT (the order's `service_type`).
const SERVICE_TYPE = { eat_in: "Eat in", takeaway: "Takeaway", delivery: "Delivery" };

function renderOrders(orders) {
  bound("orders-empty").hidden = orders.length > 0;
  bound("orders-wrap").hidden = orders.length === 0;
  bound("orders").replaceChildren(...orders.map(orderRow));
}

function orderRow(order) {
  const push = pushOf(order);
  const [label, tone] = push ? POS_STATUS[push.status] || [push.status, "info"] : ["Not sent", ""];
  const reference = `#${order.id.slice(-6)}`;
  const row = el("tr", { attrs: { "data-order": order.id } }, [
    el("td", {}, [localTime(order.created_at), el("span", { text: reference, className: "ref" })]),
    el("td", { attrs: { "data-col": "channel" } }, [
      order.channel.replaceAll("_", " "),
      order.service_type
        ? el("span", { text: SERVICE_TYPE[order.service_type] || order.service_type, className: "ref" })
        : "",
    ]),
    el("td", { text: money(order.total, order.currency), className: "num" }),
    el("td", { attrs: { "data-col": "payment" } }, [
      badge(order.status === "paid" ? "Paid" : "Pending", order.status === "paid" ? "ok" : ""),
    ]),
    el("td", { attrs: { "data-col": "pos" } }, [
      badge(label, tone),
      push?.table_number ? el("span", { text: `Table ${push.table_number}`, className: "ref" }) : "",
    ]),
    el("td", {
      text: push?.errMessage || (push ? "" : order.pos_message),
      className: "message",
      attrs: { "data-col": "message" },
    }),
    el("td"),
  ]);
  if (push?.status === "failed") {
    const retry = el("button", {
      text: "Retry",
      className: "button small",
      attrs: { type: "button", "aria-label": `Retry order ${reference}` },
    });
    retry.addEventListener("click", () => retryOrder(retry, order.id));
    row.lastChild.append(retry);
  }
  return row;
}

async function retryOrder(button, id) {
  await busy(button, "Retrying…", async () => {
    await api("POST", fill(urls.retry, id));
    notify(`Order #${id.slice(-6)} is being pushed to the register again.`, "info");
    await loadOrders();
  });
}

// --- table section ---------------------------------------------------------------------------

async function loadTables() {
  const sections = await api("GET", urls.sections);
  const section = sections.find((s) => s.imported_by === config.provider);
  const summary = bound("tables-summary");
  bound("tables-list").hidden = !section;
  bound("qr-links").hidden = !section;
  if (!section) {
    summary.hidden = false;
    return;
  }
  summary.textContent = `${section.name}: ${plural(section.tables.length, "table")}, managed by the ${displayName} integration.`;
  bound("tables-list").replaceChildren(
    ...section.tables.map((table) =>
      el("li", { text: table.name === String(table.number) ? table.number : `${table.number} · ${table.name}` }),
    ),
  );
  bound("qr-zip").href = fill(urls.qrZip, section.id);
  bound("qr-pdf").href = fill(urls.qrPdf, section.id);
}

// --- start -----------------------------------------------------------------------------------

function scheduleIdleRefresh() {
  clearTimeout(state.idleTimer);
  state.idleTimer = setTimeout(async () => {
    if (!state.syncPolling && document.visibilityState === "visible" && !$("details[open]")) {
      await loadIntegration().catch(() => {});
    }
    scheduleIdleRefresh();
  }, IDLE_REFRESH_MS);
}

async function start() {
  for (const form of $$("form[data-form]")) form.addEventListener("submit", submitCredentials);
  for (const panel of $$("details[data-panel]")) panel.addEventListener("toggle", () => prefill(panel));
  $('[data-action="test"]').addEventListener("click", testConnection);
  $('[data-action="sync"]').addEventListener("click", syncNow);
  $('[data-action="preview"]').addEventListener("click", previewNow);
  $('[data-action="refresh-imports"]').addEventListener("click", () => loadRuns());
  $('[data-action="disconnect"]').addEventListener("click", confirmDisconnect);
  $("#disconnect-dialog").addEventListener("close", disconnect);
  $('[data-action="refresh-orders"]').addEventListener("click", loadOrders);
  bound("log-level").addEventListener("change", renderLog);
  try {
    await loadIntegration();
    await loadTables();
    if (state.integration) await loadRuns();
  } catch (error) {
    $('[data-view="loading"]').textContent = error.message;
    return;
  }
  loadOrders();
  scheduleIdleRefresh();
  if (state.integration?.sync_status.status === "in_progress") followSync($('[data-action="sync"]'));
}

start();
