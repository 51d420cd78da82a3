// Manufacturers: the list (a bound key sees only its own), each one's payout settings, its
// statement for a period and its monthly report, both downloadable as CSV.

import { get, getText, Problem } from "../api.js";
import { go, has, session } from "../shell.js";
import { field, h, loading, money, notAvailable, problemBox, table, when } from "../ui.js";

function openForm() {
  const input = h("input", { name: "manufacturer_id", spellcheck: "false", size: "44", placeholder: "mfr_…" });
  return h(
    "form",
    { class: "inline", "aria-label": "Open a manufacturer", onsubmit: (event) => {
      event.preventDefault();
      if (input.value.trim()) go(`/manufacturers/${input.value.trim()}`);
    } },
    field("Manufacturer id", input),
    h("button", { type: "submit" }, "Open"),
  );
}

function rows(list) {
  return table(
    "Manufacturers",
    ["Manufacturer", "Name", "Fee (bps)", "Refund fee policy", "Payout approval from"],
    list.map((m) => [
      h("a", { href: `#/manufacturers/${m.id}` }, m.id),
      m.name,
      String(m.fee_bps),
      m.refund_fee_policy,
      m.payout_approvals_required ? `${perCurrency(m.payout_approval_threshold)} (${m.payout_approvals_required} approvals)` : "never",
    ]),
    { numeric: [2] },
  );
}

export async function manufacturers(container, { params }) {
  container.append(h("h2", {}, "Manufacturers"));
  const holder = h("div", {}, loading());
  container.append(holder);
  const bound = session.me && session.me.manufacturer_id;
  try {
    if (bound) {
      holder.replaceChildren(rows([await get(`/v1/manufacturers/${encodeURIComponent(bound)}`)]));
      return;
    }
    const page = await get("/v1/manufacturers", { cursor: params.get("cursor"), limit: 100 });
    holder.replaceChildren(page.data.length ? rows(page.data) : h("p", { class: "state" }, "No manufacturers yet."), openForm());
    if (page.next_cursor) {
      holder.append(h("button", { type: "button", onclick: () => go("/manufacturers", { cursor: page.next_cursor }) }, "Next page"));
    }
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    holder.replaceChildren(error.notAvailable ? notAvailable("The manufacturers list") : problemBox(error), openForm());
  }
}

const COUNTS = /(^|_)(count|bps|version|approvals_required|hours|days)$/;

function cell(key, value, currency) {
  if (typeof value === "number" && Number.isInteger(value) && currency && !COUNTS.test(key)) {
    return h("span", { "data-minor": value, "data-field": key }, money(value, currency));
  }
  if (value && typeof value === "object") return JSON.stringify(value);
  return value === null || value === undefined ? "—" : String(value);
}

// A statement or report section, shown whatever its exact fields: scalars as a list of
// figures, arrays of rows as tables.
function section(data, title) {
  const currency = data.currency;
  const scalars = Object.entries(data).filter(([, v]) => v === null || typeof v !== "object");
  const lists = Object.entries(data).filter(([, v]) => Array.isArray(v) && v.length && typeof v[0] === "object");
  return h(
    "section",
    { class: "figures", "data-currency": currency || "" },
    h("h4", {}, title),
    h("dl", { class: "facts" }, scalars.map(([k, v]) => [h("dt", {}, k.replace(/_/g, " ")), h("dd", { "data-field": k }, cell(k, v, currency))])),
    lists.map(([name, list]) => {
      const keys = Object.keys(list[0]);
      return table(`${title}: ${name.replace(/_/g, " ")}`, keys.map((k) => k.replace(/_/g, " ")), list.map((row) => keys.map((k) => cell(k, row[k], currency))));
    }),
  );
}

function sections(body, title) {
  const parts = Array.isArray(body.currencies) ? body.currencies : [body];
  if (parts.length === 0) return [h("p", { class: "state" }, "Nothing in this period.")];
  return parts.map((part) => section(part, `${title}${part.currency ? ", " + part.currency : ""}`));
}

function download(text, name) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function periodFigures(holder, { what, path, params, id, period }) {
  holder.replaceChildren(loading());
  let body;
  try {
    body = await get(path, params);
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    holder.replaceChildren(error.notAvailable ? notAvailable(what) : problemBox(error));
    return;
  }
  const status = h("span", { role: "status", class: "download-status" });
  const button = h("button", { type: "button", class: "download", onclick: async () => {
    try {
      const { text } = await getText(path, params, "text/csv");
      download(text, `${what.toLowerCase().replace(/\s+/g, "-")}-${id}-${period}.csv`);
      status.textContent = "Downloaded.";
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      status.replaceChildren(problemBox(error));
    }
  } }, `Download ${what.toLowerCase()} CSV`);
  holder.replaceChildren(h("div", { class: "actions" }, button, status), ...sections(body, what));
}

function payoutSettings(m) {
  const s = m.settings || {};
  const facts = [
    ["Name", m.name],
    ["Fee", `${m.fee_bps} bps`],
    ["Refund fee policy", m.refund_fee_policy],
    ["Payout approvals", m.payout_approvals_required ? `${m.payout_approvals_required} above ${perCurrency(m.payout_approval_threshold)} (minor units; any amount in a currency not listed)` : "not required"],
    ["Payout rail", s.payout_rail || "sandbox"],
    ["Payout schedule", s.payout_interval || "manual"],
    ["Payout minimum", s.payout_minimum && Object.keys(s.payout_minimum).length ? `${perCurrency(s.payout_minimum)} (minor units)` : "none"],
    ["Approval expiry", s.payout_approval_expiry_hours ? `${s.payout_approval_expiry_hours} h` : "—"],
    ["Provider", s.provider || "default"],
    ["Bank account", s.bank_account_masked || s.bank_account_mask || "—"],
    ["Updated", when(m.updated_at)],
  ];
  return h("dl", { class: "facts payout-settings" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
}

export async function manufacturer(container, { parts, params }) {
  const id = parts[1];
  const now = new Date();
  const period = /^\d{4}-\d{2}$/.test(params.get("period") || "") ? params.get("period") : now.toISOString().slice(0, 7);
  container.append(h("p", {}, h("a", { href: "#/manufacturers" }, "← Manufacturers")), h("h2", {}, `Manufacturer ${id}`));
  let found;
  try {
    found = await get(`/v1/manufacturers/${encodeURIComponent(id)}`);
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    container.append(problemBox(error));
    return;
  }
  const month = h("input", { type: "month", name: "period", value: period });
  container.append(
    h("section", { "aria-labelledby": "settings-title" }, h("h3", { id: "settings-title" }, "Payout settings"), payoutSettings(found)),
    h(
      "form",
      { class: "inline", "aria-label": "Period", onsubmit: (event) => {
        event.preventDefault();
        go(`/manufacturers/${id}`, { period: month.value });
      } },
      field("Period (month)", month),
      h("button", { type: "submit" }, "Show period"),
    ),
  );
  if (!has("finance:read")) {
    container.append(h("p", { class: "state" }, "Statements and reports need the finance:read scope."));
    return;
  }
  const statement = h("div", { class: "statement" });
  const report = h("div", { class: "report" });
  container.append(
    h("section", { "aria-labelledby": "statement-title" }, h("h3", { id: "statement-title" }, `Statement for ${period}`), statement),
    h("section", { "aria-labelledby": "report-title" }, h("h3", { id: "report-title" }, `Monthly report for ${period}`), report),
  );
  const base = { id, period, params: { period } };
  await Promise.all([
    periodFigures(statement, { ...base, what: "Statement", path: `/v1/statements/manufacturers/${encodeURIComponent(id)}` }),
    periodFigures(report, { ...base, what: "Report", path: `/v1/reports/manufacturers/${encodeURIComponent(id)}` }),
  ]);
}


// Thresholds are per currency ({"USD": 50000}); older servers sent one number.
function perCurrency(value) {
  if (value === null || value === undefined) return "any amount";
  if (typeof value !== "object") return String(value);
  const parts = Object.entries(value).map(([code, amount]) => `${code} ${amount}`);
  return parts.length ? parts.join(", ") : "any amount";
}
