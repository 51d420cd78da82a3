// Payments: the list with filters (status, manufacturer, dates), and a payment's page: its
// event history as a timeline, the journal entries its events carry, and its splits.

import { get, Problem } from "../api.js";
import { go, session } from "../shell.js";
import { badge, field, h, loading, localInputToIso, isoToLocalInput, money, moneyCell, problemBox, table, when } from "../ui.js";

const STATUSES = ["", "pending", "authorized", "captured", "voided", "failed"];

function filters(params) {
  const status = h("select", { name: "status" }, STATUSES.map((s) => h("option", { value: s, selected: params.get("status") === s }, s || "any")));
  const bound = session.me && session.me.manufacturer_id;
  const manufacturer = h("input", { name: "manufacturer_id", value: bound || params.get("manufacturer_id") || "", disabled: Boolean(bound), spellcheck: "false", size: "40" });
  const from = h("input", { type: "datetime-local", step: "1", name: "created_from", value: isoToLocalInput(params.get("created_from")) });
  const to = h("input", { type: "datetime-local", step: "1", name: "created_to", value: isoToLocalInput(params.get("created_to")) });
  return h(
    "form",
    { class: "inline", "aria-label": "Filter payments", onsubmit: (event) => {
      event.preventDefault();
      go("/payments", {
        status: status.value,
        manufacturer_id: bound ? "" : manufacturer.value.trim(),
        created_from: localInputToIso(from.value),
        created_to: localInputToIso(to.value),
      });
    } },
    field("Status", status),
    field("Manufacturer id", manufacturer),
    field("Created from (UTC)", from),
    field("Created before (UTC)", to),
    h("button", { type: "submit" }, "Filter"),
  );
}

export async function payments(container, { params }) {
  container.append(h("h2", {}, "Payments"), filters(params));
  const holder = h("div", {}, loading());
  container.append(holder);
  const query = Object.fromEntries(["status", "manufacturer_id", "created_from", "created_to", "cursor"].map((k) => [k, params.get(k)]));
  let page;
  try {
    page = await get("/v1/payments", { ...query, limit: 25 });
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    holder.replaceChildren(problemBox(error));
    return;
  }
  holder.replaceChildren();
  if (page.data.length === 0) {
    holder.append(h("p", { class: "state" }, "No payments match."));
    return;
  }
  holder.append(
    table(
      "Payments, newest first",
      ["Payment", "Status", "Amount", "Captured", "Refunded", "Manufacturers", "Created"],
      page.data.map((p) => [
        h("a", { href: `#/payments/${p.id}` }, p.id),
        badge(p.status),
        moneyCell(p.amount, p.currency),
        moneyCell(p.amount_captured, p.currency),
        moneyCell(p.amount_refunded, p.currency),
        p.manufacturer_ids.join(", "),
        when(p.created_at),
      ]),
      { numeric: [2, 3, 4] },
    ),
  );
  if (page.next_cursor) {
    holder.append(
      h("button", { type: "button", onclick: () => go("/payments", { ...query, cursor: page.next_cursor }) }, "Next page"),
    );
  }
}


function describe(event, currency) {
  const d = event.data || {};
  const parts = [];
  for (const name of ["amount", "refund_id", "dispute_id", "outcome", "status", "reason", "failure_reason", "provider_reference"]) {
    if (d[name] === undefined || d[name] === null || d[name] === "") continue;
    parts.push(name === "amount" ? `amount ${money(d[name], currency)}` : `${name.replace(/_/g, " ")} ${d[name]}`);
  }
  return parts.join(" · ");
}

function timeline(events, currency) {
  return h(
    "ol",
    { class: "timeline", "aria-label": "Event history" },
    events.map((event) =>
      h(
        "li",
        { "data-type": event.type },
        h("span", { class: "event-type" }, event.type),
        " ",
        h("time", { datetime: event.recorded_at }, when(event.recorded_at)),
        h("div", { class: "event-detail" }, describe(event, currency)),
      ),
    ),
  );
}

function journal(events, currency) {
  const entries = events.filter((e) => Array.isArray(e.data && e.data.entry) && e.data.entry.length);
  if (entries.length === 0) return h("p", { class: "state" }, "No journal entries yet.");
  return entries.map((event) =>
    table(
      `Journal entry of ${event.type} (version ${event.version}, ${when(event.recorded_at)})`,
      ["Account", "Debit", "Credit"],
      event.data.entry.map((p) => [
        p.account,
        p.amount > 0 ? moneyCell(p.amount, p.currency || currency) : "",
        p.amount < 0 ? moneyCell(-p.amount, p.currency || currency) : "",
      ]),
      { numeric: [1, 2] },
    ),
  );
}

export async function payment(container, { parts }) {
  const id = parts[1];
  container.append(h("p", {}, h("a", { href: "#/payments" }, "← Payments")), h("h2", {}, `Payment ${id}`));
  const holder = h("div", {}, loading());
  container.append(holder);
  let found;
  let events;
  try {
    [found, events] = await Promise.all([get(`/v1/payments/${encodeURIComponent(id)}`), get(`/v1/payments/${encodeURIComponent(id)}/events`)]);
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    holder.replaceChildren(problemBox(error));
    return;
  }
  const c = found.currency;
  holder.replaceChildren(h("div", {},
    h(
      "dl",
      { class: "facts" },
      [
        ["Status", badge(found.status)],
        ["Amount", moneyCell(found.amount, c)],
        ["Captured", moneyCell(found.amount_captured, c)],
        ["Refunded", moneyCell(found.amount_refunded, c)],
        ["Disputed", moneyCell(found.amount_disputed, c)],
        ["Refundable", moneyCell(found.refundable_amount, c)],
        ["Customer", found.customer_id],
        ["Provider", `${found.provider}${found.provider_reference ? " · " + found.provider_reference : ""}`],
        ["Created", when(found.created_at)],
      ].map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
    ),
    h("section", { "aria-labelledby": "timeline-title" }, h("h3", { id: "timeline-title" }, "Timeline"), timeline(events, c)),
    h("section", { "aria-labelledby": "journal-title", class: "journal" }, h("h3", { id: "journal-title" }, "Journal entries"), journal(events, c)),
    h(
      "section",
      { "aria-labelledby": "splits-title" },
      h("h3", { id: "splits-title" }, "Splits"),
      table(
        "Splits by manufacturer",
        ["Manufacturer", "Amount", "Captured", "Fee", "Fee (bps)", "Refund fee policy"],
        found.splits.map((s) => [
          h("a", { href: `#/manufacturers/${s.manufacturer_id}` }, s.manufacturer_id),
          moneyCell(s.amount, c),
          moneyCell(s.amount_captured, c),
          moneyCell(s.fee, c),
          String(s.fee_bps),
          s.refund_fee_policy,
        ]),
        { numeric: [1, 2, 3, 4] },
      ),
    ),
    found.refunds.length
      ? table(
          "Refunds",
          ["Refund", "Status", "Amount", "Created"],
          found.refunds.map((r) => [r.id, badge(r.status), moneyCell(r.amount, c), when(r.created_at)]),
          { numeric: [2] },
        )
      : null,
    found.disputes.length
      ? table(
          "Disputes",
          ["Dispute", "Status", "Amount", "Opened"],
          found.disputes.map((d) => [d.id, badge(d.status), moneyCell(d.amount, c), when(d.created_at)]),
          { numeric: [2] },
        )
      : null,
  ));
}
