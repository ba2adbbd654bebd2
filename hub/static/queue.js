// The queue's selection: "select all on this page", the "N selected" label, and ticks that
// survive a live refresh. Hand-written (about 40 lines) because htmx has no notion of a
// selection and a library for this would be larger than the code; no inline script, as the
// Content-Security-Policy requires.
(function () {
  "use strict";
  var picked = new Set(); // ids of the ticked mentions, kept across swaps of #rows

  function boxes() { return document.querySelectorAll("#rows input[name=ids]"); }

  function show() {
    var n = 0;
    boxes().forEach(function (box) {
      box.checked = picked.has(box.value);
      box.closest("tr").classList.toggle("picked", box.checked);
      if (box.checked) { n += 1; }
    });
    var all = document.getElementById("select-all");
    if (all) { all.checked = n > 0 && n === boxes().length; }
    var label = document.getElementById("selected");
    if (label) {
      label.textContent = n ? label.dataset.some.replace("{n}", n) : label.dataset.none;
      label.classList.toggle("some", n > 0);
    }
    document.querySelectorAll("#bulk button[name=bulk]").forEach(function (b) { b.disabled = n === 0; });
  }

  document.addEventListener("change", function (event) {
    var t = event.target;
    if (t.id === "select-all") {
      boxes().forEach(function (box) { if (t.checked) { picked.add(box.value); } else { picked.delete(box.value); } });
    } else if (t.matches("#rows input[name=ids]")) {
      if (t.checked) { picked.add(t.value); } else { picked.delete(t.value); }
    } else {
      return;
    }
    show();
  });
  // a mention that left the page (closed by someone else) is no longer selected
  document.addEventListener("htmx:load", function () {
    var here = new Set(Array.prototype.map.call(boxes(), function (b) { return b.value; }));
    picked.forEach(function (id) { if (!here.has(id)) { picked.delete(id); } });
    show();
  });
  document.addEventListener("DOMContentLoaded", show);
})();
