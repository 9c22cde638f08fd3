// Passkeys for the example web app: "Add a passkey" on /passkeys and "Sign in with a passkey"
// on /signin. Served as a same-origin file for the strict Content-Security-Policy.
"use strict";
(function () {
  const dec = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const enc = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const show = (e) => { const p = document.getElementById("passkey-error"); p.textContent = e.message || String(e); p.hidden = false; };
  async function post(url, body) {
    const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: body });
    const j = await r.json();
    if (!r.ok) throw new Error(j.detail || r.statusText);
    return j;
  }
  function descriptors(list) { return (list || []).map((c) => ({ ...c, id: dec(c.id) })); }

  const add = document.getElementById("passkey-add");
  if (add) add.addEventListener("click", async () => {
    try {
      const pk = (await post("/auth/passkeys/register/begin")).publicKey;
      pk.challenge = dec(pk.challenge);
      pk.user.id = dec(pk.user.id);
      pk.excludeCredentials = descriptors(pk.excludeCredentials);
      const c = await navigator.credentials.create({ publicKey: pk });
      const answer = { id: c.id, rawId: enc(c.rawId), type: c.type, response: {
        clientDataJSON: enc(c.response.clientDataJSON), attestationObject: enc(c.response.attestationObject),
        transports: c.response.getTransports ? c.response.getTransports() : [] } };
      const name = document.getElementById("passkey-name").value;
      await post("/auth/passkeys/register/finish?name=" + encodeURIComponent(name), JSON.stringify(answer));
      location.href = "/passkeys?done=passkey";
    } catch (e) { show(e); }
  });

  const signin = document.getElementById("passkey-signin");
  if (signin) signin.addEventListener("click", async () => {
    try {
      const pk = (await post("/auth/passkeys/login/begin")).publicKey;
      pk.challenge = dec(pk.challenge);
      pk.allowCredentials = descriptors(pk.allowCredentials);
      const c = await navigator.credentials.get({ publicKey: pk });
      const answer = { id: c.id, rawId: enc(c.rawId), type: c.type, response: {
        clientDataJSON: enc(c.response.clientDataJSON), authenticatorData: enc(c.response.authenticatorData),
        signature: enc(c.response.signature), userHandle: c.response.userHandle ? enc(c.response.userHandle) : "" } };
      await post("/auth/passkeys/login/finish", JSON.stringify(answer));
      const next = document.querySelector("input[name=next]");
      location.href = (next && next.value) || "/";
    } catch (e) { show(e); }
  });
})();
