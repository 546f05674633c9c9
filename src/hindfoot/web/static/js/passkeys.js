// Passkeys (WebAuthn): add one on /account/passkeys, use one at the second sign-in step on /login/mfa.
// The server sends the ceremony's options as JSON and checks the browser's answer; nothing runs inline.
document.addEventListener("DOMContentLoaded", function () {
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var status = document.getElementById("passkey-status");

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: JSON.stringify(body || {}),
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    });
  }
  function say(text) {
    status.textContent = text;
    status.hidden = false;
  }
  async function answer(response) {
    var data = await response.json().catch(function () { return {}; });
    if (!response.ok) throw new Error(data.message || "the server refused (" + response.status + ")");
    return data;
  }
  if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
    if (status) say("This browser cannot use passkeys: use a code instead.");
    return;
  }

  var add = document.getElementById("passkey-add");
  if (add) add.addEventListener("submit", async function (event) {
    event.preventDefault();
    try {
      var options = await answer(await post("/account/passkeys/options"));
      var credential = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
      });
      await answer(await post("/account/passkeys", {
        credential: credential.toJSON(), name: add.querySelector("[name=name]").value,
      }));
      window.location.assign("/account/passkeys?added=1");
    } catch (error) {
      say("The passkey was not added: " + error.message);
    }
  });

  var use = document.getElementById("passkey-use");
  if (use) use.addEventListener("click", async function () {
    try {
      var options = await answer(await post("/login/mfa/passkey/options"));
      var credential = await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
      });
      var done = await answer(await post("/login/mfa/passkey", {
        credential: credential.toJSON(), next: use.dataset.next,
      }));
      window.location.assign(done.redirect);
    } catch (error) {
      say("That passkey did not work: " + error.message);
    }
  });
});
