// Approvals: payouts and refunds waiting for approval ("waiting for me" first), approved or
// rejected after a confirmation step. The API refuses a requester's own items; its reason shows.

import { get, post, Problem } from "../api.js";
import { confirmAction, has, session, showProblem } from "../shell.js";
import { badge, field, h, loading, money, moneyCell, notAvailable, problemBox, when } from "../ui.js";

const PAYOUT = "payout";
const REFUND = "refund";

function kindOf(id) {
  if (id.startsWith("po_")) return PAYOUT;
  if (id.startsWith("re_")) return REFUND;
  return null;
}

function path(kind, id) {
  return `/v1/${kind === PAYOUT ? "payouts" : "refunds"}/${encodeURIComponent(id)}`;
}

async function decide(kind, item, action, rerender) {
  const what = `${kind} ${item.id} of ${money(item.amount, item.currency)}`;
  let extra = null;
  if (action === "reject") {
    const reason = h("textarea", { name: "reason", rows: "2", maxlength: "500" });
    extra = field("Reason (optional)", reason);
  }
  const holder = await confirmAction(
    action === "approve" ? `Approve ${kind}?` : `Reject ${kind}?`,
    action === "approve"
      ? `Approve ${what}? This is recorded under your key and cannot be undone.`
      : `Reject ${what}? Its reserved amount is released.`,
    extra,
  );
  if (!holder) return;
  const body = action === "reject" ? { reason: holder.querySelector("textarea").value || null } : undefined;
  try {
    const updated = await post(`${path(kind, item.id)}/${action}`, body);
    rerender(updated, null);
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    showProblem(error);
    rerender(item, error);
  }
}

function card(kind, item, error) {
  const me = session.me ? session.me.key_id : null;
  const mine = item.requested_by && item.requested_by === me;
  const node = h("article", { class: "approval", "data-id": item.id, "data-kind": kind, "data-status": item.status });
  const rerender = (updated, problem) => node.replaceWith(card(kind, updated, problem));
  const waiting = item.status === "pending_approval";
  const canDecide = has(kind === PAYOUT ? "payouts:approve" : "refunds:approve");
  // Element.append writes a null as the text "null": only the parts that apply.
  const parts = [
    h("h3", {}, `${kind === PAYOUT ? "Payout" : "Refund"} ${item.id} `, badge(item.status, waiting ? "warn" : "")),
    h(
      "dl",
      { class: "facts" },
      [
        ["Amount", moneyCell(item.amount, item.currency)],
        kind === PAYOUT ? ["Manufacturer", item.manufacturer_id] : ["Payment", h("a", { href: `#/payments/${item.payment_id}` }, item.payment_id)],
        ["Requested by", `${item.requested_by || "—"}${mine ? " (this key)" : ""}`],
        ["Approvals", `${(item.approvals || []).length} of ${item.approvals_required}`],
        ["Requested", when(item.created_at)],
      ].map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
    ),
    mine && waiting ? h("p", { class: "note" }, "You requested this; another approver's key must approve it.") : null,
    error ? problemBox(error) : null,
    waiting && canDecide
      ? h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "primary", onclick: () => decide(kind, item, "approve", rerender) }, "Approve"),
          h("button", { type: "button", onclick: () => decide(kind, item, "reject", rerender) }, "Reject"),
        )
      : null,
  ];
  node.append(...parts.filter(Boolean));
  return node;
}

// A list endpoint, or its "not available" state when the server has no such route. Items in
// shown (ids already on the page) are left out; the ids listed are added to it.
async function listed(title, loader, kind, shown = new Set()) {
  const section = h("section", { class: "queue", "data-kind": kind }, h("h3", {}, title));
  try {
    const items = (await loader()).filter((item) => !shown.has(item.id));
    if (items.length === 0) section.append(h("p", { class: "state" }, "Nothing waiting."));
    for (const item of items) {
      shown.add(item.id);
      section.append(card(kind, item));
    }
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    section.append(error.notAvailable ? notAvailable(`${title}: the list`) : problemBox(error));
  }
  return section;
}

async function refundsWaiting() {
  // Refunds wait in status pending_approval; a server that names it awaiting_approval is asked so.
  try {
    return (await get("/v1/refunds", { status: "pending_approval", limit: 100 })).data;
  } catch (error) {
    if (error instanceof Problem && error.status === 422) {
      return (await get("/v1/refunds", { status: "awaiting_approval", limit: 100 })).data;
    }
    throw error;
  }
}

function lookup(results) {
  const input = h("input", { name: "id", spellcheck: "false", size: "44", placeholder: "po_… or re_…" });
  return h(
    "form",
    { class: "inline", "aria-label": "Find a payout or refund", onsubmit: async (event) => {
      event.preventDefault();
      const id = input.value.trim();
      const kind = kindOf(id);
      results.replaceChildren();
      if (!kind) {
        results.append(h("p", { class: "state", role: "status" }, "A payout id starts with po_, a refund id with re_."));
        return;
      }
      try {
        const item = await get(path(kind, id));
        const listed = [...document.querySelectorAll("article.approval")].find(
          (node) => node.dataset.id === id && !results.contains(node),
        );
        if (listed) {
          // Already in a list below: refresh that card rather than showing a second one.
          const fresh = card(kind, item);
          listed.replaceWith(fresh);
          results.append(h("p", { class: "state", role: "status" }, `${id} is listed below.`));
          fresh.scrollIntoView({ block: "center" });
          return;
        }
        results.append(card(kind, item));
      } catch (error) {
        if (!(error instanceof Problem)) throw error;
        results.append(problemBox(error));
      }
    } },
    field("Payout or refund id", input),
    h("button", { type: "submit" }, "Find"),
  );
}

export async function approvals(container) {
  const results = h("div", { class: "lookup-results" });
  container.append(h("h2", {}, "Approvals"), lookup(results), results);
  const lists = h("div", {}, loading());
  container.append(lists);
  const sections = [];
  if (has("payouts:approve")) {
    const payouts = (params) => async () => (await get("/v1/payouts", { status: "pending_approval", limit: 100, ...params })).data;
    const shown = new Set();
    sections.push(await listed("Payouts waiting for me", payouts({ awaiting_approval_by: "me" }), PAYOUT, shown));
    sections.push(await listed("Other payouts waiting for approval", payouts({}), PAYOUT, shown));
  }
  if (has("refunds:approve")) sections.push(await listed("Refunds waiting for approval", refundsWaiting, REFUND));
  lists.replaceChildren(...sections);
  // An item looked up while the lists loaded keeps its card where the user is, shown once.
  for (const found of results.querySelectorAll("article.approval")) {
    for (const twin of lists.querySelectorAll("article.approval")) {
      if (twin.dataset.id !== found.dataset.id) continue;
      const section = twin.parentElement;
      twin.remove();
      if (!section.querySelector("article.approval")) section.append(h("p", { class: "state" }, "Nothing else waiting (shown above)."));
    }
  }
}
