// envkeys dashboard: copy buttons, and tidier <details> menus. Everything else works without JavaScript.
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
        function () { announce(button, "Copied"); },
        function () { announce(button, "Press Ctrl+C"); }
      );
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
