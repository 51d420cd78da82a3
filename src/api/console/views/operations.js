// Operations: how far the read models trail the events, the workflows' dead-letter queues with
// their last error and a redrive button (admin), and recent reconciliation runs with their
// breaks (views/reconciliation.js).

import { get, post, Problem } from "../api.js";
import { confirmAction, has, showProblem } from "../shell.js";
import { h, loading, notAvailable, problemBox, table, when } from "../ui.js";
import { reconciliation } from "./reconciliation.js";

async function health(holder) {
  // /healthz is the server's own liveness route, outside /v1 and without a key.
  const response = await fetch("/healthz", { cache: "no-store", credentials: "omit" });
  const body = await response.json();
  const p = body.projections || {};
  holder.replaceChildren(
    h(
      "dl",
      { class: "facts projection-lag" },
      [
        ["Status", body.status],
        ["Events behind (lag)", p.lag_events ?? "—"],
        ["Last event applied", p.position ?? "—"],
        ["Last event recorded", p.head ?? "—"],
        ["Read models updated", when(p.updated_at)],
        ["Source", p.source || "—"],
      ].map(([k, v]) => [h("dt", {}, k), h("dd", { "data-field": k }, String(v))]),
    ),
  );
}

async function redrive(queue, holder) {
  const ok = await confirmAction("Redrive dead letters?", `Move every dead letter on ${queue} back to its queue to be tried again?`);
  if (!ok) return;
  try {
    const result = await post(`/v1/operations/queues/${encodeURIComponent(queue)}/redrive`, {}, { keyed: false });
    await queues(holder, `${result.redriven} message(s) redriven to ${queue}.`);
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    showProblem(error);
  }
}

async function queues(holder, message) {
  let states;
  try {
    states = (await get("/v1/operations/queues")).data;
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    holder.replaceChildren(error.notAvailable ? notAvailable("Dead-letter queues") : problemBox(error));
    return;
  }
  holder.replaceChildren(
    message ? h("p", { role: "status", class: "note" }, message) : "",
    table(
      "Dead-letter queues",
      ["Queue", "Dead letters", "Last error", "Action"],
      states.map((s) => [
        s.queue,
        String(s.dead_letters),
        s.last_error || "—",
        s.dead_letters
          ? h("button", { type: "button", "aria-label": `Redrive ${s.queue}`, onclick: () => redrive(s.queue, holder) }, "Redrive")
          : "—",
      ]),
      { numeric: [1] },
    ),
  );
}

export async function operations(container, { params } = {}) {
  const lag = h("div", {}, loading());
  container.append(h("h2", {}, "Operations"), h("section", { "aria-labelledby": "lag-title" }, h("h3", { id: "lag-title" }, "Projection lag"), lag));
  await health(lag);
  const dlq = h("div", {}, loading());
  container.append(h("section", { "aria-labelledby": "dlq-title" }, h("h3", { id: "dlq-title" }, "Dead-letter queues"), dlq));
  if (has("admin")) await queues(dlq);
  else dlq.replaceChildren(h("p", { class: "state" }, "Dead-letter queues need an admin key."));
  const runs = h("div", {}, loading());
  container.append(h("section", { "aria-labelledby": "rec-title" }, h("h3", { id: "rec-title" }, "Reconciliation breaks"), runs));
  await reconciliation(runs, params);
}
