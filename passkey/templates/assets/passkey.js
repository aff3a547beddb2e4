// Passkey ceremonies for Sigra's pages: registration, sign-in (a button,
// the browser's autofill on the email field, or an email first), second
// factor and re-authentication. No dependencies, no inline script: every
// element it drives carries data-passkey and stays hidden until this file
// finds a browser with passkeys, so pages work without it.
(function () {
  'use strict';
  if (window.sigraPasskey) {
    return; // the script is on the page twice (a page and a slot)
  }
  window.sigraPasskey = true;
  var supported = !!(window.PublicKeyCredential && navigator.credentials && window.fetch);

  function decode(s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) {
      s += '=';
    }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function encode(buf) {
    var bytes = new Uint8Array(buf), bin = '';
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function ids(list) {
    (list || []).forEach(function (c) { c.id = decode(c.id); });
  }

  // creation and request turn the server's options (JSON, base64url) into
  // what navigator.credentials takes.
  function creation(o) {
    var pk = o.publicKey;
    pk.challenge = decode(pk.challenge);
    pk.user.id = decode(pk.user.id);
    ids(pk.excludeCredentials);
    return { publicKey: pk };
  }

  function request(o) {
    var pk = o.publicKey;
    pk.challenge = decode(pk.challenge);
    ids(pk.allowCredentials);
    return { publicKey: pk };
  }

  // credentialJSON is the credential as the server reads it (its toJSON
  // form, built by hand where the browser lacks toJSON).
  function credentialJSON(c) {
    if (typeof c.toJSON === 'function') {
      try {
        return c.toJSON();
      } catch (e) { /* built below */ }
    }
    var r = c.response;
    var out = {
      id: c.id, rawId: encode(c.rawId), type: c.type,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: { clientDataJSON: encode(r.clientDataJSON) }
    };
    if (c.authenticatorAttachment) {
      out.authenticatorAttachment = c.authenticatorAttachment;
    }
    if (r.attestationObject) {
      out.response.attestationObject = encode(r.attestationObject);
      if (r.getTransports) {
        out.response.transports = r.getTransports();
      }
    } else {
      out.response.authenticatorData = encode(r.authenticatorData);
      out.response.signature = encode(r.signature);
      if (r.userHandle) {
        out.response.userHandle = encode(r.userHandle);
      }
    }
    return out;
  }

  function post(url, body) {
    return fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) {
          var e = new Error((data.error && data.error.message) || 'Something went wrong. Try again.');
          e.code = data.error && data.error.code;
          throw e;
        }
        return data;
      });
    });
  }

  function message(err) {
    if (err && (err.name === 'NotAllowedError' || err.name === 'AbortError')) {
      return 'The passkey request was cancelled or timed out. Try again.';
    }
    if (err && err.name === 'InvalidStateError') {
      return 'This passkey is already registered.';
    }
    return (err && err.code && err.message) || 'Your passkey could not be used. Try again.';
  }

  function show(root, err) {
    var p = root.querySelector('[data-passkey-error]');
    if (p) {
      p.textContent = message(err);
      p.hidden = false;
    }
  }

  function clear(root) {
    var p = root.querySelector('[data-passkey-error]');
    if (p) {
      p.hidden = true;
      p.textContent = '';
    }
  }

  function field(name) {
    return document.querySelector('input[name="' + name + '"]');
  }

  // finish posts the credential with the page's return_to (and "keep me
  // signed in") and follows the answer.
  function finish(url, cred, extra) {
    var body = extra || {};
    body.credential = credentialJSON(cred);
    var rt = field('return_to');
    if (rt && rt.value) {
      body.return_to = rt.value;
    }
    return post(url, body).then(function (data) {
      window.location.assign(data.next || '/');
    });
  }

  function busy(root, on) {
    root.querySelectorAll('button').forEach(function (b) { b.disabled = on; });
  }

  // register: the add form of the passkeys page.
  function register(form) {
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      clear(form);
      busy(form, true);
      var name = form.querySelector('input[name="name"]');
      post(form.dataset.options, { name: name ? name.value : '' }).then(function (o) {
        return navigator.credentials.create(creation(o));
      }).then(function (cred) {
        return finish(form.action, cred);
      }).catch(function (err) {
        if (err && err.code === 'sudo_required' && form.dataset.sudo) {
          window.location.assign(form.dataset.sudo + '?return_to=' + encodeURIComponent(window.location.pathname));
          return;
        }
        show(form, err);
      }).then(function () { busy(form, false); });
    });
  }

  function remember() {
    var r = field('remember');
    return r && r.checked ? { remember: true } : {};
  }

  // signin: the button under the sign-in form (with the autofill of the
  // email field), or the email-first form.
  function signin(root) {
    var conditional = null;
    var finishURL = root.dataset.finish || root.action;

    function run(options, mediation) {
      var req = request(options);
      if (mediation) {
        conditional = new AbortController();
        req.mediation = mediation;
        req.signal = conditional.signal;
      }
      return navigator.credentials.get(req).then(function (cred) {
        return finish(finishURL, cred, remember());
      });
    }

    function autofill() {
      if (!('conditional' in root.dataset) || !document.querySelector('input[autocomplete~="webauthn"]') ||
        !PublicKeyCredential.isConditionalMediationAvailable) {
        return;
      }
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (!ok) {
          return;
        }
        return post(root.dataset.options, {}).then(function (o) {
          return run(o, 'conditional');
        });
      }).catch(function (err) {
        if (err && err.name !== 'AbortError') {
          show(root, err);
        }
      });
    }

    function start(body) {
      if (conditional) {
        conditional.abort();
        conditional = null;
      }
      clear(root);
      busy(root, true);
      post(root.dataset.options, body).then(function (o) {
        return run(o, '');
      }).catch(function (err) {
        show(root, err);
        autofill();
      }).then(function () { busy(root, false); });
    }

    if ('email' in root.dataset) {
      root.addEventListener('submit', function (ev) {
        ev.preventDefault();
        start({ email: field('email').value });
      });
    }
    var button = root.querySelector('[data-passkey-start]');
    if (button) {
      button.addEventListener('click', function () { start({}); });
    }
    autofill();
  }

  // verify: a second factor or a re-authentication of the session's user.
  function verify(root) {
    var button = root.querySelector('[data-passkey-start]');
    button.addEventListener('click', function () {
      clear(root);
      busy(root, true);
      post(root.dataset.options, {}).then(function (o) {
        return navigator.credentials.get(request(o));
      }).then(function (cred) {
        return finish(root.dataset.finish, cred);
      }).catch(function (err) {
        show(root, err);
      }).then(function () { busy(root, false); });
    });
  }

  function init() {
    if (!supported) {
      return;
    }
    document.querySelectorAll('[data-passkey-unsupported]').forEach(function (el) { el.hidden = true; });
    document.querySelectorAll('[data-passkey]').forEach(function (el) {
      el.hidden = false;
      switch (el.dataset.passkey) {
        case 'register':
          register(el);
          break;
        case 'signin':
          signin(el);
          break;
        case 'verify':
          verify(el);
          break;
      }
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
