// Admin pages, enhanced: every form works without this file.
// - "select all" for the image table's checkboxes, and a live count of the selection;
// - the title/description form of a row saves in place (fetch + X-CSRFToken) instead of reloading.
(function () {
  "use strict";

  function setUpSelection() {
    var bulk = document.getElementById("bulk");
    if (!bulk) return;
    var boxes = Array.prototype.slice.call(document.querySelectorAll('input[name="ids"][form="bulk"]'));
    var all = document.querySelector("[data-select-all]");
    var count = bulk.querySelector("[data-selection-count]");
    function update() {
      var chosen = boxes.filter(function (b) { return b.checked; }).length;
      if (count) count.textContent = chosen ? chosen + " selected" : "";
      if (all) {
        all.checked = chosen > 0 && chosen === boxes.length;
        all.indeterminate = chosen > 0 && chosen < boxes.length;
      }
    }
    if (all && boxes.length) {
      all.hidden = false;
      all.addEventListener("change", function () {
        boxes.forEach(function (b) { b.checked = all.checked; });
        update();
      });
    }
    boxes.forEach(function (b) { b.addEventListener("change", update); });
    bulk.addEventListener("submit", function (event) {
      if (!boxes.some(function (b) { return b.checked; })) {
        event.preventDefault();
        if (count) count.textContent = "Select at least one image first.";
      }
    });
    update();
  }

  function errorMessage(response) {
    return response.json().then(function (body) {
      return (body && body.error && body.error.message) || "Not saved (" + response.status + ").";
    }, function () { return "Not saved (" + response.status + ")."; });
  }

  function setUpInlineEdit(form) {
    var status = form.querySelector(".save-status");
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", function (event) {
      if (!window.fetch || !window.FormData) return; // the plain form post still works
      event.preventDefault();
      var data = new FormData(form);
      button.disabled = true;
      status.classList.remove("failed");
      status.textContent = "Saving…";
      fetch(form.action, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": data.get("csrf_token") }
      }).then(function (response) {
        if (response.ok) return response.json();
        return errorMessage(response).then(function (message) { throw new Error(message); });
      }).then(function (image) {
        form.querySelector('[name="title"]').value = image.title || "";
        form.querySelector('[name="description"]').value = image.description || "";
        var row = form.closest("tr");
        var name = row && row.querySelector("[data-name]");
        if (name) name.textContent = image.title || image.filename;
        status.textContent = "Saved.";
      }).catch(function (err) {
        status.classList.add("failed");
        status.textContent = err.message || "Not saved; try again.";
      }).then(function () { button.disabled = false; });
    });
  }

  function setUpSecrets() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-select-on-focus]"), function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpSelection();
    Array.prototype.forEach.call(document.querySelectorAll("form[data-inline-edit]"), setUpInlineEdit);
    setUpSecrets();
  });
})();
