// envkeys dashboard: copy buttons, the key file download, forms sent once, and tidier <details> menus.
// Everything else works without JavaScript.
(function () {
  "use strict";

  function textOf(element) {
    return "value" in element ? element.value : element.textContent;
  }

  function fallbackCopy(element) {
    // Clipboard API unavailable (e.g. plain http on another host): select the text and copy that.
    if (typeof element.select === "function") {
      element.focus();
      element.select();
    } else {
      var range = document.createRange();
      range.selectNodeContents(element);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    return document.execCommand("copy") ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function announce(button, label) {
    var original = button.dataset.label || button.innerHTML;
    button.dataset.label = original;
    button.textContent = label;
    button.classList.toggle("copied", label === "Copied");
    window.setTimeout(function () {
      button.innerHTML = original;
      button.classList.remove("copied");
    }, 2000);
  }

  // The "API Key Created" page: has the secret key been copied or downloaded yet?
  var secretPage = document.querySelector("[data-secret-page]");
  var secretField = document.getElementById("secret-key");
  var secretSaved = false;

  function holdsSecret(element) {
    return Boolean(secretField) && textOf(element).indexOf(textOf(secretField)) !== -1;
  }

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.setAttribute("aria-live", "polite");
    button.addEventListener("click", function () {
      var target = document.getElementById(button.dataset.copy);
      if (!target) return;
      var text = textOf(target);
      var copying = navigator.clipboard && window.isSecureContext
        ? navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(target); })
        : fallbackCopy(target);
      copying.then(
        function () {
          announce(button, "Copied");
          if (holdsSecret(target)) secretSaved = true;
        },
        function () { announce(button, "Press Ctrl+C"); }
      );
    });
  });

  // The key file: made here from the page's own text, so the secret never travels again.
  document.querySelectorAll("[data-download-key]").forEach(function (button) {
    button.hidden = false;
    document.querySelectorAll("[data-download-note]").forEach(function (note) { note.hidden = false; });
    button.addEventListener("click", function () {
      var value = function (id) { return textOf(document.getElementById(id)).trim(); };
      var lines = [
        "envkeys API key for environment " + button.dataset.environment,
        "Name: " + (button.dataset.keyName || "(no name)"),
        "Endpoint: " + value("endpoint"),
        "Access key (username): " + value("access-key"),
        "Secret key (password): " + value("secret-key"),
        "",
        "As a line in ~/.netrc (chmod 600 ~/.netrc):",
        value("netrc-line"),
        ""
      ];
      var url = URL.createObjectURL(new Blob([lines.join("\n")], { type: "text/plain" }));
      var link = document.createElement("a");
      link.href = url;
      link.download = button.dataset.filename;
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
      secretSaved = true;
    });
  });

  // Close on that page asks once whether the secret key was saved, unless Copy or the download was used.
  var asked = false;
  document.querySelectorAll("[data-close-secret]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (!secretPage || secretSaved || asked) return;
      asked = true;
      var dialog = document.getElementById("unsaved-dialog");
      if (dialog && typeof dialog.showModal === "function") {
        event.preventDefault();
        dialog.showModal();
      } else if (!window.confirm("Have you saved the secret key? It cannot be shown again.")) {
        event.preventDefault();
      }
    });
  });

  // Forms that must be sent once (adding a key): a second click or Enter does nothing, and the button says so.
  document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "true";
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
        if (button.dataset.busyLabel) {
          button.dataset.idleLabel = button.textContent;
          button.textContent = button.dataset.busyLabel;
        }
      });
    });
  });
  // Back to a form kept in the page cache: it may be sent again (the server answers a repeat anyway).
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
      delete form.dataset.sent;
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.disabled = false;
        button.removeAttribute("aria-busy");
        if (button.dataset.idleLabel) button.textContent = button.dataset.idleLabel;
      });
    });
  });

  // Menus: one open at a time; Escape or a click elsewhere closes them.
  var menus = document.querySelectorAll("details.menu");
  menus.forEach(function (menu) {
    menu.addEventListener("toggle", function () {
      if (!menu.open) return;
      menus.forEach(function (other) { if (other !== menu) other.open = false; });
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    menus.forEach(function (menu) {
      if (!menu.open) return;
      menu.open = false;
      if (menu.contains(document.activeElement)) menu.querySelector("summary").focus();
    });
  });
  document.addEventListener("click", function (event) {
    menus.forEach(function (menu) {
      if (menu.open && !menu.contains(event.target)) menu.open = false;
    });
  });
})();
