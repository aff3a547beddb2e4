// Sigra theme script. It runs in <head> so that a chosen theme applies
// before the first paint, then wires the theme switcher and the copy
// buttons once the page is parsed. No inline script is needed.
(function () {
  "use strict";
  var root = document.documentElement;
  var key = "sigra-theme";

  function saved() {
    try {
      var t = window.localStorage.getItem(key);
      return t === "light" || t === "dark" ? t : "system";
    } catch (e) {
      return "system";
    }
  }

  function apply(theme) {
    if (theme === "light" || theme === "dark") {
      root.setAttribute("data-theme", theme);
    } else {
      root.removeAttribute("data-theme");
    }
  }

  function store(theme) {
    try {
      if (theme === "system") {
        window.localStorage.removeItem(key);
      } else {
        window.localStorage.setItem(key, theme);
      }
    } catch (e) { /* storage disabled: the choice lasts for this page */ }
  }

  apply(saved());

  function wireThemeSwitch() {
    var sw = document.querySelector("[data-theme-switch]");
    if (!sw) {
      return;
    }
    var current = saved();
    var inputs = sw.querySelectorAll("input[name=theme]");
    Array.prototype.forEach.call(inputs, function (input) {
      input.checked = input.value === current;
      input.addEventListener("change", function () {
        if (input.checked) {
          store(input.value);
          apply(input.value);
        }
      });
    });
    sw.hidden = false;
  }

  function wireCopyButtons() {
    if (!navigator.clipboard || !window.isSecureContext) {
      return;
    }
    var buttons = document.querySelectorAll("[data-copy-text]");
    Array.prototype.forEach.call(buttons, function (button) {
      var label = button.querySelector("span") || button;
      var text = label.textContent;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(button.getAttribute("data-copy-text")).then(function () {
          label.textContent = "Copied";
          window.setTimeout(function () { label.textContent = text; }, 2000);
        });
      });
      button.hidden = false;
    });
  }

  function ready() {
    wireThemeSwitch();
    wireCopyButtons();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }

  // Keep every open tab on the same theme.
  window.addEventListener("storage", function (e) {
    if (e.key === key) {
      apply(saved());
    }
  });
})();
