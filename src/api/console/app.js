// The console's shell: the key form, who the key is, navigation by scope, and a router on the
// URL's fragment (#/view/id?params), so every view, as-of moment included, can be shared.

import { forgetKey, get, Problem, storedKey, storeKey, whenUnauthenticated } from "./api.js";
import { go, has, hasAny, route, session, showProblem } from "./shell.js";
import { h } from "./ui.js";
import { overview } from "./views/overview.js";
import { payment, payments } from "./views/payments.js";
import { approvals } from "./views/approvals.js";
import { disputes } from "./views/disputes.js";
import { manufacturer, manufacturers } from "./views/manufacturers.js";
import { operations } from "./views/operations.js";

const page = document.getElementById("page");
const login = document.getElementById("login");
const nav = document.getElementById("nav");
const who = document.getElementById("who");

function showLogin(message) {
  session.me = null;
  nav.hidden = true;
  who.hidden = true;
  page.replaceChildren();
  login.hidden = false;
  if (message) showProblem(message);
  document.getElementById("api-key").focus();
}

whenUnauthenticated((error) => {
  forgetKey();
  showLogin(error);
});

async function identify() {
  session.me = await get("/v1/keys/me");
  const me = session.me;
  const binding = me.manufacturer_id ? ` · bound to ${me.manufacturer_id}` : "";
  document.getElementById("who-text").textContent = `Key ${me.key_id} · ${me.scopes.join(", ")}${binding}`;
  for (const item of nav.querySelectorAll("li")) {
    const needs = (item.dataset.needs || "").split(" ").filter(Boolean);
    item.hidden = needs.length > 0 && !hasAny(...needs);
  }
  nav.hidden = false;
  who.hidden = false;
  login.hidden = true;
}

function defaultView() {
  if (has("finance:read")) return "/overview";
  if (has("payments:read")) return "/payments";
  if (hasAny("payouts:approve", "refunds:approve")) return "/approvals";
  return "/operations";
}

const views = {
  overview: () => overview,
  payments: (parts) => (parts.length > 1 ? payment : payments),
  approvals: () => approvals,
  disputes: () => disputes,
  manufacturers: (parts) => (parts.length > 1 ? manufacturer : manufacturers),
  operations: () => operations,
};

let rendering = 0;

async function render() {
  if (!storedKey()) {
    showLogin();
    return;
  }
  showProblem(null);
  if (!session.me) {
    try {
      await identify();
    } catch (error) {
      if (!(error instanceof Problem && error.status === 401)) showProblem(error);
      return;
    }
  }
  const { parts, params } = route();
  const pick = views[parts[0]];
  if (!pick) {
    go(defaultView());
    return;
  }
  for (const link of nav.querySelectorAll("a")) {
    if (link.getAttribute("href") === `#/${parts[0]}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const ticket = ++rendering;
  const container = h("div", { class: "view", "data-view": parts[0] });
  page.replaceChildren(container);
  try {
    await pick(parts)(container, { parts, params, isCurrent: () => ticket === rendering });
  } catch (error) {
    if (ticket === rendering && !(error instanceof Problem && error.status === 401)) showProblem(error);
  }
}

document.getElementById("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("api-key");
  const key = input.value.trim();
  input.value = "";
  if (!key) return;
  storeKey(key);
  session.me = null;
  render();
});

document.getElementById("sign-out").addEventListener("click", () => {
  forgetKey();
  showLogin();
});

window.addEventListener("hashchange", render);
render();
