// Menus > Items: search and filter the location's items, availability at a glance, edit a
// description, upload an image (with a preview), and reorder within a display group. Every
// change is a local edit through the backoffice API; menu syncs keep them.

const config = JSON.parse(document.getElementById("menu-items-config").textContent);
const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
const { urls, location } = config;
const PAGE = 500;

const $ = (selector, root = document) => root.querySelector(selector);
const bound = (name) => $(`[data-bind="${name}"]`);
const fill = (url, id) => url.replace("__id__", encodeURIComponent(id));
const state = { items: [], categories: new Map(), groups: [] };

function el(tag, { text, className, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

function notify(message, tone = "info") {
  const notice = $("#notice");
  notice.textContent = message;
  notice.className = `notice ${tone}`;
  notice.hidden = false;
}

function errorText(status, body) {
  if (body?.detail) return body.detail;
  if (body && typeof body === "object") {
    return Object.entries(body)
      .map(([field, messages]) => `${field}: ${[].concat(messages).join(" ")}`)
      .join(" ");
  }
  return `The server answered ${status}.`;
}

async function api(method, url, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (method !== "GET") init.headers["X-CSRFToken"] = csrfToken;
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Error(errorText(response.status, data));
  return data;
}

async function all(url) {
  const results = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await api("GET", `${url}?limit=${PAGE}&offset=${offset}`);
    results.push(...page.results);
    if (results.length >= page.count || page.results.length === 0) return results;
  }
}

function money(amount) {
  return new Intl.NumberFormat("en-GB", { style: "currency", currency: location.currency }).format(Number(amount));
}

async function load() {
  const [items, categories, groups] = await Promise.all([
    all(urls.items),
    all(urls.categories),
    all(urls.displayGroups),
  ]);
  state.items = items;
  state.categories = new Map(categories.map((c) => [c.id, c]));
  state.groups = groups;
  const categorySelect = bound("category");
  const groupSelect = bound("group");
  categorySelect.append(...categories.map((c) => el("option", { text: c.name, attrs: { value: c.id } })));
  groupSelect.append(...groups.map((g) => el("option", { text: g.name, attrs: { value: g.id } })));
  render();
}

function visible() {
  const query = bound("search").value.trim().toLowerCase();
  const category = bound("category").value;
  const group = state.groups.find((g) => g.id === bound("group").value);
  let items = state.items;
  if (group) {
    const byId = new Map(items.map((item) => [item.id, item]));
    items = group.item_ids.map((id) => byId.get(id)).filter(Boolean);
  }
  return items.filter((item) => {
    if (category && item.category_id !== category) {
      const parent = state.categories.get(item.category_id)?.parent_id;
      if (parent !== category) return false;
    }
    if (!query) return true;
    const pos = Object.values(item.external_ids || {}).join(" ").toLowerCase();
    return item.name.toLowerCase().includes(query) || pos.includes(query);
  });
}

function render() {
  const group = state.groups.find((g) => g.id === bound("group").value);
  const items = visible();
  bound("reorder-hint").hidden = !group;
  bound("count").textContent = `${items.length} of ${state.items.length} items`;
  bound("items").replaceChildren(...items.map((item, index) => itemCard(item, group, index, items.length)));
}

function itemCard(item, group, index, total) {
  const available = item.available !== false;
  const pos = Object.entries(item.external_ids || {}).map(([p, id]) => `${p} ${id}`).join(", ");
  const description = el("textarea", {
    attrs: { rows: "2", maxlength: "2000", "aria-label": `Description of ${item.name}`, "data-field": "description" },
  });
  description.value = item.description || "";
  const save = el("button", { text: "Save description", className: "button small", attrs: { type: "button" } });
  save.addEventListener("click", () => saveDescription(item, description.value, save));

  const preview = el("img", {
    className: "thumb",
    attrs: { alt: item.image ? `Image of ${item.name}` : "", "data-field": "thumbnail" },
  });
  if (item.image_thumbnail || item.image) preview.src = item.image_thumbnail || item.image;
  else preview.hidden = true;
  const file = el("input", {
    attrs: { type: "file", accept: "image/jpeg,image/png,image/webp", "aria-label": `Image of ${item.name}` },
  });
  const uploadButton = el("button", { text: "Upload image", className: "button small", attrs: { type: "button", disabled: "" } });
  file.addEventListener("change", () => {
    const chosen = file.files?.[0];
    uploadButton.disabled = !chosen;
    if (chosen) {
      preview.src = URL.createObjectURL(chosen); // the preview, before it is uploaded
      preview.hidden = false;
    }
  });
  uploadButton.addEventListener("click", () => uploadImage(item, file, uploadButton));

  const children = [
    el("div", { className: "item-head" }, [
      el("strong", { text: item.name }),
      el("span", { text: money(item.price), className: "num" }),
      el("span", {
        text: available ? "Available" : "Sold out",
        className: `badge ${available ? "ok" : "bad"}`,
        attrs: { "data-field": "availability" },
      }),
      item.register_missing ? el("span", { text: "Not on the register", className: "badge warn" }) : "",
      el("span", { text: `${state.categories.get(item.category_id)?.name ?? "No category"} · POS ${pos}`, className: "muted" }),
    ]),
    el("div", { className: "item-body" }, [
      preview,
      el("div", { className: "item-edit" }, [description, el("div", { className: "actions" }, [save, file, uploadButton])]),
    ]),
  ];
  if (group) {
    const up = el("button", { text: "Up", className: "button small", attrs: { type: "button", "aria-label": `Move ${item.name} up` } });
    const down = el("button", { text: "Down", className: "button small", attrs: { type: "button", "aria-label": `Move ${item.name} down` } });
    up.disabled = index === 0;
    down.disabled = index === total - 1;
    up.addEventListener("click", () => move(group, item.id, -1));
    down.addEventListener("click", () => move(group, item.id, 1));
    children.push(el("div", { className: "actions" }, [up, down]));
  }
  return el("li", { className: "item card", attrs: { "data-item": item.id } }, children);
}

function replaceItem(updated) {
  state.items = state.items.map((item) => (item.id === updated.id ? updated : item));
}

async function saveDescription(item, value, button) {
  button.disabled = true;
  try {
    replaceItem(await api("PATCH", fill(urls.item, item.id), { description: value }));
    notify(`Description of ${item.name} saved.`, "ok");
  } catch (error) {
    notify(error.message, "bad");
  } finally {
    button.disabled = false;
  }
}

async function uploadImage(item, input, button) {
  const chosen = input.files?.[0];
  if (!chosen) return;
  const form = new FormData();
  form.append("image", chosen);
  button.disabled = true;
  try {
    replaceItem(await api("PUT", fill(urls.itemImage, item.id), form));
    notify(`Image of ${item.name} uploaded.`, "ok");
    render();
  } catch (error) {
    notify(error.message, "bad");
    button.disabled = false;
  }
}

async function move(group, itemId, step) {
  const order = [...group.item_ids];
  const from = order.indexOf(itemId);
  const to = from + step;
  if (from < 0 || to < 0 || to >= order.length) return;
  [order[from], order[to]] = [order[to], order[from]];
  try {
    const updated = await api("PATCH", fill(urls.displayGroup, group.id), { item_ids: order });
    state.groups = state.groups.map((g) => (g.id === updated.id ? updated : g));
    render();
    notify(`Order of ${group.name} saved.`, "ok");
    $(`[data-item="${itemId}"] button[aria-label^="Move"]:not([disabled])`)?.focus();
  } catch (error) {
    notify(error.message, "bad");
  }
}

for (const name of ["search", "category", "group"]) bound(name).addEventListener("input", render);
load().catch((error) => notify(error.message, "bad"));
