// Disputes: open ones with amount and age, and tabs for won and lost.

import { get, Problem } from "../api.js";
import { go } from "../shell.js";
import { age, badge, h, loading, moneyCell, notAvailable, problemBox, table, when } from "../ui.js";

const TABS = ["open", "won", "lost"];

export async function disputes(container, { params }) {
  const status = TABS.includes(params.get("status")) ? params.get("status") : "open";
  container.append(
    h("h2", {}, "Disputes"),
    h(
      "div",
      { role: "tablist", "aria-label": "Dispute status", class: "tabs" },
      TABS.map((tab) =>
        h("button", { type: "button", role: "tab", "aria-selected": String(tab === status), onclick: () => go("/disputes", { status: tab }) }, tab),
      ),
    ),
  );
  const panel = h("div", { role: "tabpanel", "aria-label": `${status} disputes` }, loading());
  container.append(panel);
  let page;
  try {
    page = await get("/v1/disputes", { status, cursor: params.get("cursor"), limit: 50 });
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    panel.replaceChildren(error.notAvailable ? notAvailable("The disputes list") : problemBox(error));
    return;
  }
  panel.replaceChildren();
  if (page.data.length === 0) {
    panel.append(h("p", { class: "state" }, `No ${status} disputes.`));
    return;
  }
  panel.append(
    table(
      `${status[0].toUpperCase()}${status.slice(1)} disputes`,
      ["Dispute", "Payment", "Status", "Amount", "Opened", "Age", "Reason"],
      page.data.map((d) => [
        d.id,
        h("a", { href: `#/payments/${d.payment_id}` }, d.payment_id),
        badge(d.status),
        moneyCell(d.amount, d.currency),
        when(d.created_at),
        age(d.created_at),
        d.reason || "",
      ]),
      { numeric: [3] },
    ),
  );
  if (page.next_cursor) {
    panel.append(h("button", { type: "button", onclick: () => go("/disputes", { status, cursor: page.next_cursor }) }, "Next page"));
  }
}
