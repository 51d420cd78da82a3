// Calls to this server's public /v1 API with the key from session storage, answers as data,
// errors as Problem (RFC 9457 problem+json: title and detail are shown to the user).

const KEY = "ledger.apiKey";

export function storedKey() {
  return sessionStorage.getItem(KEY);
}

export function storeKey(key) {
  sessionStorage.setItem(KEY, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY);
}

export class Problem extends Error {
  constructor(status, body) {
    const title = (body && body.title) || `HTTP ${status}`;
    const detail = (body && body.detail) || "";
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.type = (body && body.type) || "";
    this.body = body;
  }

  // The route itself is missing on this server (not an id it does not know): a 405 on a path
  // that only takes writes, or the router's own 404.
  get notAvailable() {
    return this.status === 405 || (this.status === 404 && this.detail === "Not Found");
  }
}

export class Unauthenticated extends Problem {}

let onUnauthenticated = () => {};

export function whenUnauthenticated(handler) {
  onUnauthenticated = handler;
}

// An Idempotency-Key of letters only: the API refuses anything that reads like a card number.
export function idempotencyKey() {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return "console-" + Array.from(bytes, (b) => letters[b % 26]).join("");
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

async function call(path, { method = "GET", body, accept = "application/json", keyed = false } = {}) {
  const headers = { Accept: accept };
  const key = storedKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (keyed) headers["Idempotency-Key"] = idempotencyKey();
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch (error) {
    throw new Problem(0, { title: "Network error", detail: String(error.message || error) });
  }
  if (response.ok) return response;
  let problem = null;
  try {
    problem = await response.json();
  } catch {
    problem = { title: response.statusText || `HTTP ${response.status}` };
  }
  if (response.status === 401) {
    const error = new Unauthenticated(401, problem);
    onUnauthenticated(error);
    throw error;
  }
  throw new Problem(response.status, problem);
}

export async function get(path, params) {
  return (await call(path + query(params))).json();
}

export async function post(path, body, { keyed = true } = {}) {
  return (await call(path, { method: "POST", body, keyed })).json();
}

export async function getText(path, params, accept) {
  const response = await call(path + query(params), { accept });
  return { text: await response.text(), type: response.headers.get("content-type") || "" };
}
