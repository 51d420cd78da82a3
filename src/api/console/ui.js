// Small DOM and formatting helpers: elements are built, never parsed from HTML strings.

export function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let counter = 0;
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

// A labelled control: <label for> tied to the input's id.
export function field(label, control) {
  if (!control.id) control.id = uid("f");
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control);
}

export function table(caption, headings, rows, { numeric = [] } = {}) {
  return h(
    "table",
    {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, headings.map((t, i) => h("th", { scope: "col", class: numeric.includes(i) ? "num" : null }, t)))),
    h(
      "tbody",
      {},
      rows.map((cells) =>
        h("tr", {}, cells.map((cell, i) => h("td", { class: numeric.includes(i) ? "num" : null }, cell))),
      ),
    ),
  );
}

// ----- money: integer minor units, never floats ----------------------------------------------
const digitsCache = new Map();

export function minorDigits(currency) {
  if (!digitsCache.has(currency)) {
    let digits = 2;
    try {
      digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
        .maximumFractionDigits;
    } catch {
      digits = 2;
    }
    digitsCache.set(currency, digits);
  }
  return digitsCache.get(currency);
}

const grouping = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function money(amount, currency) {
  const digits = minorDigits(currency);
  const negative = amount < 0;
  const text = String(Math.abs(amount)).padStart(digits + 1, "0");
  const whole = digits ? text.slice(0, -digits) : text;
  const fraction = digits ? text.slice(-digits) : "";
  const grouped = grouping.format(Number(whole));
  return `${negative ? "−" : ""}${grouped}${fraction ? "." + fraction : ""} ${currency}`;
}

export function moneyCell(amount, currency) {
  return h("span", { class: amount < 0 ? "neg" : null, "data-minor": amount }, money(amount, currency));
}

// Major units as a Number for the chart's axis only (figures are always shown from integers).
export function majorUnits(amount, currency) {
  return amount / 10 ** minorDigits(currency);
}

// ----- time ----------------------------------------------------------------------------------
export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z").replace(/:\d\dZ$/, "Z");
}

export function age(iso, now = new Date()) {
  const days = Math.floor((now - new Date(iso)) / 86400000);
  if (days >= 1) return `${days} day${days === 1 ? "" : "s"}`;
  const hours = Math.floor((now - new Date(iso)) / 3600000);
  return hours >= 1 ? `${hours} h` : "under 1 h";
}

// <input type=datetime-local> holds a wall time; the console reads it as UTC.
export function localInputToIso(value) {
  if (!value) return "";
  const withSeconds = value.length === 16 ? `${value}:00` : value;
  return `${withSeconds}Z`;
}

export function isoToLocalInput(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toISOString().slice(0, 19);
}

export function dayIso(date) {
  return date.toISOString().slice(0, 10);
}

// ----- states --------------------------------------------------------------------------------
export function notAvailable(what) {
  return h(
    "p",
    { class: "state not-available", role: "status" },
    `${what} is not available on this server (the API has no such endpoint yet).`,
  );
}

export function problemBox(error) {
  return h(
    "div",
    { class: "state problem-inline", role: "alert" },
    h("strong", {}, error.title || "Error"),
    error.detail ? h("span", {}, ` ${error.detail}`) : null,
  );
}

export function loading() {
  return h("p", { class: "state", role: "status" }, "Loading…");
}

export function badge(text, kind) {
  return h("span", { class: `badge ${kind || ""}` }, text);
}
