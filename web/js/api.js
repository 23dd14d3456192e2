// The /v1 API: a Bearer token on every call, problem+json turned into ApiError.
import { t } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.detail || body?.title || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code || `HTTP_${status}`;
    this.title = body?.title || "";
    this.detail = body?.detail || "";
    this.problems = Array.isArray(body?.problems) ? body.problems : [];
    this.params = body?.params && typeof body.params === "object" ? body.params : {};
  }
}

export function createApi(baseUrl, getToken, onUnauthorized) {
  async function request(method, path, body, accept = "application/json", withHeaders = false) {
    const headers = { Accept: `${accept}, application/problem+json` };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError(0, { code: "NETWORK", detail: t("error.NETWORK") });
    }
    const text = await response.text();
    if (response.ok && accept !== "application/json") return withHeaders ? { text, headers: response.headers } : text;
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text.slice(0, 300) }; }
    if (!response.ok) {
      const error = new ApiError(response.status, data);
      if (response.status === 401 && onUnauthorized) onUnauthorized(error);
      throw error;
    }
    return data;
  }
  return {
    get: (path) => request("GET", path),
    post: (path, body = {}) => request("POST", path, body),
    put: (path, body) => request("PUT", path, body),
    text: (path, accept) => request("GET", path, undefined, accept),
    /** A text answer with its headers: { text, headers }. */
    textWithHeaders: (path, accept) => request("GET", path, undefined, accept, true),
  };
}
