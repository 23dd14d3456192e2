// Signing in. On the local stack: a development login (tenant + role → token from POST /local/token).
// In AWS: Cognito's hosted UI, authorization code with PKCE; the ID token is the Bearer token (its claims
// carry custom:tenant_id and cognito:groups). Only the token is kept, in sessionStorage; never the client key.

const SESSION = "abaxPayroll.session";
const PKCE = "abaxPayroll.pkce";

/** config.json: {"mode": "local"} from the local stack, or
 *  {"mode": "cognito", "api_url": "https://…/v1", "cognito": {"domain": "https://….auth.eu-north-1.amazoncognito.com",
 *   "client_id": "…", "redirect_uri"?: "https://…/", "scopes"?: "openid email profile"}, "region"?: "eu-north-1"} in AWS. */
export async function loadConfig() {
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (response.ok) return normalise(await response.json());
  } catch { /* fall through */ }
  return normalise({ mode: "local" });
}

function normalise(config) {
  return { mode: config.mode === "cognito" ? "cognito" : "local", apiUrl: (config.api_url || "/v1").replace(/\/$/, ""), ...config };
}

export function decodeClaims(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(atob(payload).split("").map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join(""));
    return JSON.parse(json);
  } catch {
    return {};
  }
}

function sessionFrom(token) {
  const claims = decodeClaims(token);
  const groups = Array.isArray(claims["cognito:groups"]) ? claims["cognito:groups"] : String(claims["cognito:groups"] || "").split(/[ ,]/);
  return {
    token,
    tenant: claims["custom:tenant_id"] || "",
    role: groups.includes("admin") ? "admin" : groups.includes("payroll") ? "payroll" : "",
    user: claims.email || claims["cognito:username"] || claims.sub || "",
    exp: Number(claims.exp || 0),
  };
}

export function currentSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(SESSION) || "null");
    if (session && session.exp * 1000 > Date.now() + 10_000) return session;
  } catch { /* no session */ }
  return null;
}

function keep(token) {
  const session = sessionFrom(token);
  sessionStorage.setItem(SESSION, JSON.stringify(session));
  return session;
}

export function forget() { sessionStorage.removeItem(SESSION); }

// --- local stack -------------------------------------------------------------------------------------

export async function devLogin(tenant, role) {
  const response = await fetch("local/token", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ tenant, role }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || !body.token) throw new Error(body.detail || `HTTP ${response.status}`);
  return keep(body.token);
}

// --- Cognito hosted UI, authorization code + PKCE ------------------------------------------------------

function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(size = 48) { return base64url(crypto.getRandomValues(new Uint8Array(size))); }

export async function pkceChallenge(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(digest);
}

function redirectUri(config) { return config.cognito.redirect_uri || `${location.origin}${location.pathname}`; }

export async function cognitoLogin(config) {
  const verifier = randomString(64);
  const state = randomString(24);
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state, hash: location.hash }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: config.cognito.client_id,
    redirect_uri: redirectUri(config),
    scope: config.cognito.scopes || "openid email profile",
    state,
    code_challenge: await pkceChallenge(verifier),
    code_challenge_method: "S256",
  });
  location.assign(`${config.cognito.domain.replace(/\/$/, "")}/oauth2/authorize?${query}`);
}

/** Back from the hosted UI with ?code=…&state=…: trade the code (and the verifier) for tokens. */
export async function completeCognitoLogin(config) {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  if (!code && !params.get("error")) return null;
  const saved = JSON.parse(sessionStorage.getItem(PKCE) || "null");
  sessionStorage.removeItem(PKCE);
  history.replaceState(null, "", `${location.pathname}${saved?.hash || ""}`);
  if (params.get("error")) throw new Error(params.get("error_description") || params.get("error"));
  if (!saved || saved.state !== params.get("state")) throw new Error("state mismatch: start the sign-in again");
  const response = await fetch(`${config.cognito.domain.replace(/\/$/, "")}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: config.cognito.client_id,
      code,
      redirect_uri: redirectUri(config),
      code_verifier: saved.verifier,
    }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || !body.id_token) throw new Error(body.error_description || body.error || `HTTP ${response.status}`);
  return keep(body.id_token);
}

export function signOut(config) {
  forget();
  if (config.mode === "cognito") {
    const query = new URLSearchParams({ client_id: config.cognito.client_id, logout_uri: redirectUri(config) });
    location.assign(`${config.cognito.domain.replace(/\/$/, "")}/logout?${query}`);
    return true;
  }
  return false;
}
