// The "Print" button on the application file: the browser's print dialog (or "Save as PDF").
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
