// One-click "Insert" on the mention page: buttons with data-insert put their text at the cursor
// of the reply box (#reply-text) and fire an input event, so the live policy check runs as if
// the agent had typed it. A static file because the Content-Security-Policy allows no inline
// script. Without a reply box (compliance, a closed mention) the buttons stay hidden.
(function () {
  "use strict";

  function box() {
    return document.getElementById("reply-text");
  }

  function insertAtCursor(area, text) {
    var start = area.selectionStart, end = area.selectionEnd;
    var before = area.value.slice(0, start), after = area.value.slice(end);
    // keep words apart: a space before unless at the start or after whitespace, and after
    // unless what follows already starts with whitespace or the box ends here
    if (before && !/\s$/.test(before)) text = " " + text;
    if (after && !/^\s/.test(after)) text = text + " ";
    area.focus();
    area.setRangeText(text, start, end, "end");
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function reveal() {
    if (!box()) return;
    document.querySelectorAll("button[data-insert]").forEach(function (b) {
      b.hidden = false;
    });
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("button[data-insert]");
    var area = box();
    if (!button || !area) return;
    e.preventDefault();
    insertAtCursor(area, button.getAttribute("data-insert"));
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", reveal);
  } else {
    reveal();
  }
  document.addEventListener("htmx:afterSwap", reveal);
})();
