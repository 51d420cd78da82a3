// Overview: balances per account and currency on their normal side, the trial balance per
// currency, an account's daily balance as a chart, every figure as of a moment in the URL.

import { get, Problem } from "../api.js";
import { go, showProblem } from "../shell.js";
import {
  badge,
  dayIso,
  field,
  h,
  isoToLocalInput,
  loading,
  localInputToIso,
  majorUnits,
  money,
  moneyCell,
  problemBox,
  when,
} from "../ui.js";

const MAX_DAYS = 62;

// The side a healthy balance sits on, when the server does not say (older servers).
export function normalSide(account) {
  if (account.startsWith("manufacturer:") || account.startsWith("platform:revenue:")) return "credit";
  if (account.startsWith("provider:") && account.endsWith(":refunds_pending")) return "credit";
  return "debit";
}

function normalized(line) {
  const side = line.normal_balance || normalSide(line.account);
  const balance = line.debits - line.credits;
  const onSide = line.balance_normal ?? (side === "credit" ? -balance : balance);
  return { ...line, normal_balance: side, balance_normal: onSide };
}

async function mapLimit(items, limit, task) {
  const results = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], index);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

// The trial balance as of a moment: the server's own when it honours as_of, else each
// account's balance as of it (GET /v1/accounts/{name}/balance honours as_of everywhere).
async function trialBalance(asOf) {
  const current = await get("/v1/ledger/trial-balance", asOf ? { as_of: asOf } : {});
  if (!asOf || "as_of" in current) return { ...current, computed: false };
  const lines = current.currencies.flatMap((c) => c.accounts.map((a) => ({ ...a, currency: c.currency })));
  const balances = await mapLimit(lines, 6, (line) =>
    get(`/v1/accounts/${encodeURIComponent(line.account)}/balance`, { currency: line.currency, as_of: asOf }),
  );
  const grouped = new Map();
  for (const b of balances) {
    if (b.debits === 0 && b.credits === 0) continue;
    if (!grouped.has(b.currency)) grouped.set(b.currency, []);
    grouped.get(b.currency).push({ account: b.account, debits: b.debits, credits: b.credits, balance: b.balance });
  }
  const currencies = [...grouped.entries()].sort().map(([currency, accounts]) => {
    const debits = accounts.reduce((s, a) => s + a.debits, 0);
    const credits = accounts.reduce((s, a) => s + a.credits, 0);
    return { currency, accounts, total_debits: debits, total_credits: credits, balanced: debits === credits };
  });
  return { as_of: asOf, currencies, freshness: current.freshness, computed: true };
}

function asOfForm(params) {
  const input = h("input", { type: "datetime-local", step: "1", name: "as_of", value: isoToLocalInput(params.get("as_of")) });
  const form = h(
    "form",
    { class: "inline", "aria-label": "As of", onsubmit: (event) => {
      event.preventDefault();
      go("/overview", { ...Object.fromEntries(params), as_of: localInputToIso(input.value) });
    } },
    field("As of (UTC)", input),
    h("button", { type: "submit" }, "Show as of"),
    h("button", { type: "button", onclick: () => {
      const rest = Object.fromEntries(params);
      delete rest.as_of;
      go("/overview", rest);
    } }, "Now"),
  );
  return form;
}

function currencyTable(section) {
  const lines = section.accounts.map(normalized);
  const rows = lines.map((line) =>
    h(
      "tr",
      { "data-account": line.account },
      h("th", { scope: "row" }, line.account),
      h("td", {}, line.normal_balance),
      h("td", { class: "num" }, moneyCell(line.debits, section.currency)),
      h("td", { class: "num" }, moneyCell(line.credits, section.currency)),
      h("td", { class: "num balance-normal" }, moneyCell(line.balance_normal, section.currency)),
    ),
  );
  const balanced = section.balanced;
  return h(
    "section",
    { class: "currency", "data-currency": section.currency },
    h(
      "h3",
      {},
      `${section.currency} `,
      balanced
        ? badge("Balanced", "ok")
        : badge(`Not balanced: debits ${money(section.total_debits, section.currency)} ≠ credits ${money(section.total_credits, section.currency)}`, "bad"),
    ),
    h(
      "table",
      {},
      h("caption", {}, `Trial balance, ${section.currency}: balances on each account's normal side`),
      h(
        "thead",
        {},
        h("tr", {}, ["Account", "Normal side", "Debits", "Credits", "Balance"].map((t, i) => h("th", { scope: "col", class: i > 1 ? "num" : null }, t))),
      ),
      h("tbody", {}, rows),
      h(
        "tfoot",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "row" }, "Total"),
          h("td", {}),
          h("td", { class: "num total-debits" }, moneyCell(section.total_debits, section.currency)),
          h("td", { class: "num total-credits" }, moneyCell(section.total_credits, section.currency)),
          h("td", {}),
        ),
      ),
    ),
  );
}

function days(from, to) {
  const out = [];
  const cursor = new Date(`${from}T00:00:00Z`);
  const end = new Date(`${to}T00:00:00Z`);
  while (cursor <= end && out.length < MAX_DAYS) {
    out.push(dayIso(cursor));
    cursor.setUTCDate(cursor.getUTCDate() + 1);
  }
  return out;
}

function chartForm(params, accounts) {
  const asOf = params.get("as_of");
  const end = asOf ? new Date(asOf) : new Date();
  const start = new Date(end.getTime() - 29 * 86400000);
  const select = h(
    "select",
    { name: "account" },
    accounts.map(({ account, currency }) =>
      h("option", { value: `${account}|${currency}`, selected: params.get("account") === account && params.get("currency") === currency }, `${account} (${currency})`),
    ),
  );
  const from = h("input", { type: "date", name: "from", value: params.get("from") || dayIso(start) });
  const to = h("input", { type: "date", name: "to", value: params.get("to") || dayIso(end) });
  return h(
    "form",
    { class: "inline", "aria-label": "Balance over time", onsubmit: (event) => {
      event.preventDefault();
      const [account, currency] = select.value.split("|");
      go("/overview", { ...Object.fromEntries(params), account, currency, from: from.value, to: to.value });
    } },
    field("Account", select),
    field("From", from),
    field("To (inclusive)", to),
    h("button", { type: "submit" }, "Show chart"),
  );
}

async function chart(holder, params) {
  const account = params.get("account");
  const currency = params.get("currency");
  if (!account || !currency) {
    holder.append(h("p", { class: "state" }, "Choose an account to see its daily balance."));
    return;
  }
  const asOf = params.get("as_of");
  const end = params.get("to") || dayIso(asOf ? new Date(asOf) : new Date());
  const start = params.get("from") || dayIso(new Date(new Date(`${end}T00:00:00Z`).getTime() - 29 * 86400000));
  const dates = days(start, end);
  const side = normalSide(account);
  holder.append(loading());
  const points = await mapLimit(dates, 6, async (day) => {
    const b = await get(`/v1/accounts/${encodeURIComponent(account)}/balance`, { currency, as_of: `${day}T23:59:59Z` });
    const onSide = b.balance_normal ?? (side === "credit" ? -b.balance : b.balance);
    return { day, value: onSide };
  });
  holder.replaceChildren();
  const title = `${account} (${currency}), daily closing balance on its ${side} side`;
  const plot = h("div", { class: "chart", role: "img", "aria-label": `Chart: ${title}, ${points.length} days` });
  holder.append(h("h3", {}, title), plot);
  const xs = points.map((p) => Date.parse(`${p.day}T23:59:59Z`) / 1000);
  const ys = points.map((p) => majorUnits(p.value, currency));
  // uPlot is loaded as a classic script (vendor/uPlot.iife.min.js, pinned).
  // eslint-disable-next-line no-undef
  new uPlot(
    {
      width: Math.min(900, Math.max(320, holder.clientWidth || 800)),
      height: 260,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      series: [{}, { label: `${account} (${currency})`, stroke: "#1f5fa8", width: 2, fill: "rgba(31,95,168,0.08)" }],
      axes: [{}, { size: 80 }],
    },
    [xs, ys],
    plot,
  );
  holder.append(
    h(
      "details",
      {},
      h("summary", {}, "Daily figures"),
      h(
        "table",
        { class: "chart-figures" },
        h("caption", {}, title),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Day"), h("th", { scope: "col", class: "num" }, "Balance"))),
        h("tbody", {}, points.map((p) => h("tr", {}, h("td", {}, p.day), h("td", { class: "num" }, moneyCell(p.value, currency))))),
      ),
    ),
  );
}

export async function overview(container, { params }) {
  const asOf = params.get("as_of");
  container.append(
    h("h2", {}, "Overview"),
    asOfForm(params),
    h("p", { class: "as-of", "data-as-of": asOf || "" }, asOf ? `Every figure as of ${when(asOf)}.` : "Every figure as of now."),
  );
  const figures = h("div", { class: "trial-balance" }, loading());
  const chartHolder = h("div", { class: "balance-chart" });
  container.append(h("section", { "aria-labelledby": "tb-title" }, h("h2", { id: "tb-title" }, "Trial balance"), figures));
  let tb;
  try {
    tb = await trialBalance(asOf);
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    figures.replaceChildren(problemBox(error));
    return;
  }
  figures.replaceChildren();
  if (tb.currencies.length === 0) figures.append(h("p", { class: "state" }, "No postings yet."));
  for (const section of tb.currencies) figures.append(currencyTable(section));
  if (tb.freshness) {
    figures.append(
      h("p", { class: "freshness" }, `Read models: ${tb.freshness.lag_events ?? "?"} events behind, updated ${when(tb.freshness.updated_at)}.`),
    );
  }
  const accounts = tb.currencies.flatMap((c) => c.accounts.map((a) => ({ account: a.account, currency: c.currency })));
  container.append(
    h("section", { "aria-labelledby": "chart-title" }, h("h2", { id: "chart-title" }, "Balance over time"), chartForm(params, accounts), chartHolder),
  );
  try {
    await chart(chartHolder, params);
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    chartHolder.replaceChildren(problemBox(error));
    showProblem(error);
  }
}
