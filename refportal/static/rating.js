// The rating form's steps: answers are saved as they are given (debounced, with the draft's version,
// so a stale tab never writes over a newer draft), and leaving with unsaved answers asks first.
// Without this script every step still saves with its buttons (plain POSTs).
(function () {
  "use strict";
  var form = document.querySelector("form[data-draft]");
  if (!form || !window.fetch || !window.FormData) { return; }
  var status = form.querySelector("[data-autosave-status]");
  var version = form.querySelector("input[name=version]");
  var dirty = false, saving = false, again = false, stopped = false, timer = null, submitting = false;
  var pendingSubmitter = null;  // a button pressed while an answer was being saved: pressed again after

  function say(message) { if (status) { status.textContent = message; } }
  // The form's state for anyone watching (and the browser tests): saved, dirty or saving.
  function mark() { form.dataset.state = saving ? "saving" : (dirty || timer ? "dirty" : "saved"); }

  function save() {
    timer = null;
    if (stopped) { return; }
    if (saving) { again = true; return; }
    saving = true;
    dirty = false;
    mark();
    var body = new FormData(form);
    body.set("autosave", "1");
    // form.action would be the buttons named "action": the attribute is the step's address.
    fetch(form.getAttribute("action"), { method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (response.ok && typeof data.version === "number") {
            version.value = String(data.version);
            say(form.dataset.savedMessage);
          } else {
            dirty = true;
            stopped = response.status === 409 || response.status >= 410;
            say(data.message || form.dataset.failedMessage);
          }
        });
      })
      .catch(function () { dirty = true; say(form.dataset.failedMessage); })
      .then(function () {
        saving = false;
        mark();
        if (pendingSubmitter) {
          var button = pendingSubmitter;
          pendingSubmitter = null;
          again = false;
          form.requestSubmit(button);
        } else if (again) { again = false; schedule(); }
      });
  }

  function schedule() {
    dirty = true;
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(save, 800);
    mark();
  }
  mark();

  form.addEventListener("change", schedule);
  form.addEventListener("input", function (event) {
    if (event.target.type !== "radio" && event.target.type !== "checkbox") { schedule(); }
  });
  form.addEventListener("submit", function (event) {
    if (timer) { clearTimeout(timer); timer = null; }
    if (saving) {  // the button's post must carry the version this save returns
      event.preventDefault();
      pendingSubmitter = event.submitter || null;
      return;
    }
    submitting = true;
  });
  window.addEventListener("beforeunload", function (event) {
    if ((dirty || saving) && !submitting) {
      event.preventDefault();
      event.returnValue = form.dataset.unsavedMessage;
      return form.dataset.unsavedMessage;
    }
  });
})();
