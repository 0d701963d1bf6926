// Copy buttons for calendar feed addresses. Without JavaScript the buttons stay hidden
// and the address is still there to select in its read-only field.
(function () {
  "use strict";
  // Included once per subscription box; wire the page up only once.
  if (window.commsplanFeedCopy || !navigator.clipboard) { return; }
  window.commsplanFeedCopy = true;

  function ready(fn) {
    if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", fn); } else { fn(); }
  }

  ready(function () {
    // One polite live region tells screen reader users that the copy worked.
    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    document.body.appendChild(status);

    document.querySelectorAll("button.copy-button[data-copy-target]").forEach(function (button) {
      var input = document.getElementById(button.getAttribute("data-copy-target"));
      if (!input) { return; }
      var label = button.innerHTML;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(input.value).then(function () {
          var done = button.getAttribute("data-copied-text") || "OK";
          button.textContent = done;
          status.textContent = done;
          setTimeout(function () { button.innerHTML = label; status.textContent = ""; }, 2500);
        }, function () {
          input.focus();
          input.select();
        });
      });
    });
    document.querySelectorAll("input.feed-input, .feed-url input[readonly]").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
  });
})();
