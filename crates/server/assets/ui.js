// WebAuthn on the self-service page (security keys and passkeys): the browser's API, JSON to
// Tessera. The server speaks webauthn-rs's JSON (binary fields as base64url), the browser
// ArrayBuffers.
"use strict";

const fromB64 = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const toB64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const csrf = () => document.getElementById("csrf").dataset.token;

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json", "x-csrf-token": csrf() },
    body: JSON.stringify(body ?? {}),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(json.error ?? response.statusText);
  return json;
}

function show(message) {
  let notice = document.getElementById("notice");
  if (!notice) {
    notice = document.createElement("p");
    notice.id = "notice";
    notice.className = "notice";
    notice.setAttribute("role", "alert");
    document.querySelector("main").prepend(notice);
  }
  notice.textContent = message;
}

/** Registers a new credential with the server's creation options; its JSON for the server. */
async function create(options) {
  const publicKey = options.publicKey;
  publicKey.challenge = fromB64(publicKey.challenge);
  publicKey.user.id = fromB64(publicKey.user.id);
  for (const c of publicKey.excludeCredentials ?? []) c.id = fromB64(c.id);
  const credential = await navigator.credentials.create({ publicKey });
  return {
    id: credential.id,
    rawId: toB64(credential.rawId),
    type: credential.type,
    response: {
      attestationObject: toB64(credential.response.attestationObject),
      clientDataJSON: toB64(credential.response.clientDataJSON),
    },
    extensions: credential.getClientExtensionResults(),
  };
}

/** Answers the server's request options; the assertion's JSON for the server. */
async function assert(options) {
  const publicKey = options.publicKey;
  publicKey.challenge = fromB64(publicKey.challenge);
  for (const c of publicKey.allowCredentials ?? []) c.id = fromB64(c.id);
  const assertion = await navigator.credentials.get({ publicKey });
  const response = assertion.response;
  return {
    id: assertion.id,
    rawId: toB64(assertion.rawId),
    type: assertion.type,
    response: {
      authenticatorData: toB64(response.authenticatorData),
      clientDataJSON: toB64(response.clientDataJSON),
      signature: toB64(response.signature),
      userHandle: response.userHandle ? toB64(response.userHandle) : null,
    },
    extensions: assertion.getClientExtensionResults(),
  };
}

/** Registers a security key (`kind` "key") or a passkey ("passkey") under the name typed. */
async function enrol(kind) {
  const name = document.getElementById(`${kind}-name`).value;
  const path = kind === "key" ? "/ui/enrol/key" : "/ui/passkeys";
  const { id, options } = await post(`${path}/start`);
  await post(`${path}/finish`, { id, name, credential: await create(options) });
  location.assign(`/ui/factors?notice=${kind}-added`);
}

async function signInWithKey() {
  const { options } = await post("/ui/second-factor/key/start");
  await post("/ui/second-factor/key/finish", await assert(options));
  location.assign("/ui/factors");
}

async function signInWithPasskey() {
  const email = document.getElementById("email").value;
  if (!email) throw new Error("Type your email address first.");
  const { options } = await post("/ui/sign-in/passkey/start", { email });
  await post("/ui/sign-in/passkey/finish", await assert(options));
  location.assign("/ui/factors");
}

/** Adds a passkey with a registration link: the page carries the link, and posts it back. */
async function registerWithLink() {
  const card = document.getElementById("registration");
  const link = { userID: card.dataset.user, orgID: card.dataset.org, codeID: card.dataset.codeId, code: card.dataset.code };
  const { id, options } = await post(`${location.pathname}/start`, link);
  const name = document.getElementById("passkey-name").value;
  await post(`${location.pathname}/finish`, { ...link, id, name, credential: await create(options) });
  card.hidden = true;
  document.getElementById("registration-done").hidden = false;
}

const actions = {
  "enrol-key": () => enrol("key"),
  "enrol-passkey": () => enrol("passkey"),
  "key-sign-in": signInWithKey,
  "passkey-sign-in": signInWithPasskey,
  "register-passkey": registerWithLink,
};

/**
 * What the visitor is told of a failure: the server's message, or, for the browser's own
 * WebAuthn errors (whose texts are written for developers), what they mean. A browser refuses
 * an authenticator that cannot verify its user itself, when verification is required, so the
 * server never sees it.
 */
function explain(e) {
  switch (e.name) {
    case "NotAllowedError":
      return "The authenticator did not answer: it was cancelled or timed out, or it cannot verify you (no PIN or biometrics).";
    case "InvalidStateError":
      return "This authenticator is registered for this account already.";
    default:
      return e.message || "The authenticator did not answer.";
  }
}

document.addEventListener("click", (event) => {
  const action = actions[event.target.dataset?.action];
  if (!action) return;
  event.preventDefault();
  action().catch((e) => show(explain(e)));
});
