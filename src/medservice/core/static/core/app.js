// Behaviour without inline scripts (the Content-Security-Policy forbids them).
document.addEventListener("DOMContentLoaded", () => {
  const token = document.body.dataset.csrfToken;
  document.body.addEventListener("htmx:configRequest", (event) => {
    if (token) event.detail.headers["X-CSRFToken"] = token;
  });
  document.querySelectorAll(".js-autosubmit").forEach((element) => {
    element.addEventListener("change", () => element.form.submit());
  });
  bindBulkSelection(document);
  document.body.addEventListener("htmx:afterSwap", (event) => bindBulkSelection(event.target));
});

function bindBulkSelection(root) {
  const form = document.getElementById("bulk-form");
  if (!form) return;
  const actions = form.querySelectorAll(".js-bulk-action");
  const refresh = () => {
    const none = form.querySelectorAll(".js-select-row:checked").length === 0;
    actions.forEach((action) => { action.disabled = none; });
  };
  root.querySelectorAll(".js-select-all").forEach((all) => {
    all.addEventListener("change", () => {
      form.querySelectorAll(".js-select-row").forEach((box) => { box.checked = all.checked; });
      refresh();
    });
  });
  root.querySelectorAll(".js-select-row").forEach((box) => box.addEventListener("change", refresh));
  refresh();
}
