// What every view shares: who the key is, its scopes, navigation, problems shown, confirmations.

import { Problem } from "./api.js";
import { h } from "./ui.js";

const problem = document.getElementById("problem");

export const session = { me: null };

export function has(scope) {
  const scopes = (session.me && session.me.scopes) || [];
  return scopes.includes("admin") || scopes.includes(scope);
}

export function hasAny(...scopes) {
  return scopes.some(has);
}

export function route() {
  const fragment = location.hash.replace(/^#/, "") || "/";
  const [path, search = ""] = fragment.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, params: new URLSearchParams(search) };
}

export function go(path, params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  const text = search.toString();
  location.hash = `#${path}${text ? "?" + text : ""}`;
}

export function showProblem(error) {
  problem.replaceChildren();
  if (!error) {
    problem.hidden = true;
    return;
  }
  const title = error instanceof Problem ? error.title : "Error";
  const detail = error instanceof Problem ? error.detail : String(error.message || error);
  problem.append(h("strong", { class: "problem-title" }, title), " ", h("span", { class: "problem-detail" }, detail));
  problem.hidden = false;
}

// A confirmation step: resolves with the extra fields' values, or null when cancelled.
export function confirmAction(title, text, extra) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  const holder = document.getElementById("confirm-extra");
  holder.replaceChildren(...(extra ? [extra] : []));
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => resolve(dialog.returnValue === "ok" ? holder : null),
      { once: true },
    );
    dialog.returnValue = "";
    dialog.showModal();
    document.getElementById("confirm-ok").focus();
  });
}

