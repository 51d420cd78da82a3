// Operations' reconciliation panel: recent runs recorded by `ledger reconcile` (provider, when,
// what the provider paid against what matched, breaks by kind) and, on demand, one run's breaks
// with the provider's side and the ledger's side. The run opened is in the URL
// (#/operations?run=ID) so it can be shared. Platform keys with finance:read only.

import { get, Problem } from "../api.js";
import { has, session } from "../shell.js";
import { badge, h, loading, moneyCell, notAvailable, problemBox, table, when } from "../ui.js";

const RECENT = 10;
const KINDS = {
  missing_in_ledger: "Missing in ledger",
  missing_at_provider: "Missing at provider",
  amount_mismatch: "Amount mismatch",
  currency_mismatch: "Currency mismatch",
  fee_mismatch: "Fee mismatch",
  duplicate: "Duplicate",
};

function kindName(kind) {
  return KINDS[kind] || kind;
}

function figure(amount, currency) {
  return amount === null || amount === undefined ? "—" : moneyCell(amount, currency);
}

function breakCounts(run) {
  const counts = Object.entries(run.breaks_count || {}).filter(([, n]) => n > 0);
  if (!counts.length) return badge("none", "ok");
  return h(
    "ul",
    { class: "break-counts" },
    counts.map(([kind, n]) => h("li", { "data-kind": kind }, `${kindName(kind)}: ${n}`)),
  );
}

function runsTable(runs, opened) {
  return table(
    "Recent reconciliation runs",
    ["Run", "Source", "Provider payout", "Matched net", "Provider net", "Lines matched", "Breaks by kind", "Balanced", "Breaks"],
    runs.map((r) => {
      const totals = r.totals || {};
      return [
        h("span", { class: "run" }, h("span", { "data-field": "provider" }, r.provider), ` · ${when(r.created_at)}`, h("br", {}), h("code", {}, r.id)),
        h("span", { class: "source" }, r.source),
        h("span", { "data-field": "payout" }, figure(totals.payout, r.currency)),
        h("span", { "data-field": "matched_net" }, figure(totals.matched_net, r.currency)),
        h("span", { "data-field": "provider_net" }, figure(totals.provider_net, r.currency)),
        String(totals.matched ?? 0),
        breakCounts(r),
        totals.balanced ? badge("balanced", "ok") : badge("not balanced", "bad"),
        totals.breaks
          ? h(
              "a",
              {
                href: `#/operations?run=${encodeURIComponent(r.id)}`,
                "aria-label": `Show breaks of run ${r.id}`,
                "aria-current": r.id === opened ? "true" : null,
              },
              "Show breaks",
            )
          : "—",
      ];
    }),
    { numeric: [2, 3, 4, 5] },
  );
}

function providerLine(side) {
  if (!side) return h("span", { class: "missing" }, "missing: not in the provider's records");
  const parts = [`${side.type || "line"} ${side.id}`];
  if (side.reference) parts.push(`for ${side.reference}`);
  if (side.refund_reference) parts.push(`refund ${side.refund_reference}`);
  if (side.line) parts.push(`(line ${side.line})`);
  return parts.join(" ");
}

function ledgerRecord(side) {
  if (!side) return h("span", { class: "missing" }, "missing: the ledger has no record of it");
  const parts = [];
  if (side.payment_id) {
    parts.push(has("payments:read") ? h("a", { href: `#/payments/${encodeURIComponent(side.payment_id)}` }, side.payment_id) : side.payment_id);
  }
  if (side.refund_id) parts.push(` refund ${side.refund_id}`);
  if (side.payout_id) parts.push(`payout ${side.payout_id}`);
  if (side.trace) parts.push(` (trace ${side.trace})`);
  return h("span", {}, parts);
}

// What the provider says minus what the ledger has, on the figure the break is about.
function difference(item) {
  const { provider, ledger } = item;
  if (!provider || !ledger || provider.currency !== ledger.currency) return "—";
  if (item.kind === "amount_mismatch") return moneyCell(provider.amount - ledger.amount, provider.currency);
  if (item.kind === "fee_mismatch") return moneyCell((provider.fee ?? 0) - (ledger.fee ?? 0), provider.currency);
  return "—";
}

function breaksTable(run) {
  const items = Object.values(run.breaks || {}).flat();
  const currency = (side) => (side && side.currency) || run.currency;
  return table(
    `Breaks of run ${run.id}`,
    ["Kind", "Provider transaction", "Provider amount", "Provider fee", "Ledger record", "Ledger amount", "Ledger fee", "Ledger status", "Difference"],
    items.map((item) => [
      h("span", { "data-kind": item.kind }, kindName(item.kind)),
      providerLine(item.provider),
      h("span", { "data-side": "provider", "data-field": "amount" }, figure(item.provider && item.provider.amount, currency(item.provider))),
      h("span", { "data-side": "provider", "data-field": "fee" }, figure(item.provider && item.provider.fee, currency(item.provider))),
      ledgerRecord(item.ledger),
      h("span", { "data-side": "ledger", "data-field": "amount" }, figure(item.ledger && item.ledger.amount, currency(item.ledger))),
      h("span", { "data-side": "ledger", "data-field": "fee" }, figure(item.ledger && item.ledger.fee, currency(item.ledger))),
      (item.ledger && item.ledger.status) || "—",
      h("span", { "data-field": "difference" }, difference(item)),
    ]),
    { numeric: [2, 3, 5, 6, 8] },
  );
}

async function runBreaks(holder, id) {
  holder.replaceChildren(loading());
  let run;
  try {
    run = await get(`/v1/reconciliation/runs/${encodeURIComponent(id)}`);
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    holder.replaceChildren(problemBox(error));
    return;
  }
  const total = (run.totals && run.totals.breaks) || 0;
  holder.replaceChildren(
    h("h4", { id: "run-title" }, `Run ${run.id}: ${run.provider}, ${run.source}`),
    total
      ? breaksTable(run)
      : h("p", { class: "state", role: "status" }, "This run has no breaks: every provider line matched the ledger."),
    run.lines_truncated
      ? h("p", { class: "note" }, `Only the first breaks are kept with a run; it had ${total} in all (the counts above cover every one).`)
      : "",
  );
}

export async function reconciliation(holder, params) {
  if (!has("finance:read")) {
    holder.replaceChildren(h("p", { class: "state", role: "status" }, "Reconciliation runs need a key with finance:read."));
    return;
  }
  const bound = session.me && session.me.manufacturer_id;
  if (bound) {
    holder.replaceChildren(
      h(
        "p",
        { class: "state", role: "status" },
        `Reconciliation runs are for platform keys: a run covers every manufacturer's transactions, and this key is bound to ${bound}.`,
      ),
    );
    return;
  }
  let runs;
  try {
    runs = (await get("/v1/reconciliation/runs")).data || [];
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    holder.replaceChildren(error.notAvailable ? notAvailable("Reconciliation") : problemBox(error));
    return;
  }
  const opened = params && params.get("run");
  const detail = h("div", { class: "run-breaks" });
  holder.replaceChildren(
    runs.length
      ? runsTable(runs.slice(0, RECENT), opened)
      : h("p", { class: "state", role: "status" }, "No reconciliation runs yet: ", h("code", {}, "ledger reconcile --provider stripe|paypal|ach …"), " records one."),
    runs.length > RECENT ? h("p", { class: "state" }, `The ${RECENT} most recent of ${runs.length} runs.`) : "",
    detail,
  );
  if (opened) await runBreaks(detail, opened);
}
