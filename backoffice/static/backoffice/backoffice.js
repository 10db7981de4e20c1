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

const state = { integration: undefined, syncPolling: false, ordersTimer: null, idleTimer: null };

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
  message.className = sync.status === "error" ? "form-error" : "muted";
  stages.hidden = false;
  const failedAt = sync.status === "error" ? sync.details?.stage ?? sync.stage : null;
  const current = sync.status === "in_progress" ? STAGES.indexOf(sync.stage) : -1;
  STAGES.forEach((stage, index) => {
    const item = $(`[data-stage="${stage}"]`, stages);
    let stageState = "waiting";
    if (sync.status === "success") stageState = "done";
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
    if (sync) notify(sync.message, sync.status === "success" ? "ok" : "bad");
    await loadTables();
  } catch (error) {
    notify(error.message, "bad");
  } finally {
    state.syncPolling = false;
    button.disabled = false;
  }
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
  $('[data-action="disconnect"]').addEventListener("click", confirmDisconnect);
  $("#disconnect-dialog").addEventListener("close", disconnect);
  $('[data-action="refresh-orders"]').addEventListener("click", loadOrders);
  bound("log-level").addEventListener("change", renderLog);
  try {
    await loadIntegration();
    await loadTables();
  } catch (error) {
    $('[data-view="loading"]').textContent = error.message;
    return;
  }
  loadOrders();
  scheduleIdleRefresh();
  if (state.integration?.sync_status.status === "in_progress") followSync($('[data-action="sync"]'));
}

start();
