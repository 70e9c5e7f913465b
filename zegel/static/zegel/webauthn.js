/* Passkeys (WebAuthn): adding one on the Security page and using one at log-in. The server
   gives the options as JSON with base64url bytes and checks everything; this only carries the
   bytes between it and navigator.credentials. */
(function () {
  "use strict";

  function fromB64url(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().then(function (data) {
        // A change that needs the password again first: the server names the page for it.
        if (response.status === 403 && data.redirect) { window.location.assign(data.redirect); }
        if (!response.ok) { throw new Error(data.error || response.statusText); }
        return data;
      });
    });
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      return {type: d.type, id: fromB64url(d.id), transports: d.transports};
    });
  }

  function credentialJson(credential) {
    var r = credential.response;
    var out = {id: credential.id, rawId: toB64url(credential.rawId), type: credential.type,
               clientExtensionResults: credential.getClientExtensionResults(), response: {
                 clientDataJSON: toB64url(r.clientDataJSON)}};
    if (credential.authenticatorAttachment) {
      out.authenticatorAttachment = credential.authenticatorAttachment;
    }
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      if (r.userHandle) { out.response.userHandle = toB64url(r.userHandle); }
    }
    return out;
  }

  function showError(box, message) {
    var slot = box.querySelector(".webauthn-error");
    if (slot) { slot.textContent = message; slot.hidden = false; }
  }

  function register(box) {
    var form = box.querySelector("[data-webauthn-form]");
    if (!form) { return; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var name = form.querySelector("input[name=name]").value.trim();
      if (!name) { showError(box, box.getAttribute("data-name-missing") || "Name?"); return; }
      post(box.getAttribute("data-options-url")).then(function (data) {
        var options = JSON.parse(data.options);
        options.challenge = fromB64url(options.challenge);
        options.user.id = fromB64url(options.user.id);
        options.excludeCredentials = descriptors(options.excludeCredentials);
        return navigator.credentials.create({publicKey: options});
      }).then(function (credential) {
        return post(box.getAttribute("data-url"), {name: name,
                                                    credential: credentialJson(credential)});
      }).then(function (data) {
        window.location.assign(data.redirect);
      }).catch(function (error) { showError(box, error.message); });
    });
  }

  function login(box) {
    var button = box.querySelector("[data-webauthn-start]");
    button.addEventListener("click", function () {
      post(box.getAttribute("data-options-url")).then(function (data) {
        var options = JSON.parse(data.options);
        options.challenge = fromB64url(options.challenge);
        options.allowCredentials = descriptors(options.allowCredentials);
        return navigator.credentials.get({publicKey: options});
      }).then(function (credential) {
        return post(box.getAttribute("data-url"), {credential: credentialJson(credential)});
      }).then(function (data) {
        window.location.assign(data.redirect);
      }).catch(function (error) { showError(box, error.message); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.PublicKeyCredential) {
      document.querySelectorAll("[data-webauthn-start]").forEach(function (b) { b.disabled = true; });
      return;
    }
    document.querySelectorAll("[data-webauthn-register]").forEach(register);
    document.querySelectorAll("[data-webauthn-login]").forEach(login);
  });
})();
