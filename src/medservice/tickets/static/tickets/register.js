// The register-a-call form (tickets/register_call.html), without inline scripts (CSP):
// the quality questions open when they apply, a look-up result fills the contact, device and
// organisation, and Enter in the phone or serial box searches at once. Without this script the
// page still works: the result buttons and "Find" submit the form, which comes back filled.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("register-call-form");
  if (!form) return;

  // --- quality questions: a quality complaint, or a patient involved or injured ------------
  const quality = document.getElementById("quality-intake");
  const required = form.querySelector("[data-quality-required]");
  const kind = form.elements.namedItem("kind");
  const patient = form.elements.namedItem("patient_involved");
  const injury = form.elements.namedItem("injury");
  const flagged = () =>
    Boolean((kind && kind.value === "quality_complaint") || (patient && patient.checked) || (injury && injury.checked));
  const toggleQuality = () => {
    const on = flagged();
    if (quality) quality.open = on;
    if (required) required.hidden = !on;
  };
  [kind, patient, injury].forEach((element) => {
    if (element) element.addEventListener("change", toggleQuality);
  });

  // --- choosing a look-up result ------------------------------------------------------------
  const chosenBox = (name) => form.querySelector(`[data-chosen="${name}"]`);
  const setChosen = (name, id, label, organization) => {
    const hidden = form.elements.namedItem(name);
    if (hidden) hidden.value = id;
    const box = chosenBox(name);
    if (!box) return;
    box.hidden = !id;
    box.dataset.organization = organization || "";
    const text = box.querySelector("[data-chosen-label]");
    if (text) text.textContent = id ? label || "" : "";
  };
  const chooseOrganization = (id, label) => {
    if (!id) return;
    const hidden = form.querySelector('input[type="hidden"][name="organization"]');
    const box = hidden && hidden.closest("[data-autocomplete]");
    // The autocomplete (core/static/core/app.js) shows the label and keeps the id.
    if (box) box.dispatchEvent(new CustomEvent("autocomplete:choose", { detail: { id, label } }));
    if (hidden) hidden.value = id;
  };
  form.addEventListener("click", (event) => {
    const button = event.target.closest("[data-pick]");
    if (!button || !form.contains(button)) return;
    event.preventDefault();
    const name = button.dataset.pick;
    const id = button.dataset.id || "";
    const organization = button.dataset.organization || "";
    setChosen(name, id, button.dataset.label, organization);
    if (!id) return;
    chooseOrganization(organization, button.dataset.organizationLabel);
    // The contact and the device belong to one organisation: a choice from another one
    // removes the other choice (the service would refuse the pair).
    const other = name === "device" ? "contact" : "device";
    const otherBox = chosenBox(other);
    if (otherBox && !otherBox.hidden && otherBox.dataset.organization && organization
        && otherBox.dataset.organization !== organization) {
      setChosen(other, "", "", "");
    }
    if (name === "device") {
      const serial = form.elements.namedItem("serial_reported");
      if (serial && !serial.value) serial.value = button.dataset.serial || "";
    }
  });

  // --- searching at once ----------------------------------------------------------------------
  const lookupInputs = form.querySelectorAll("[data-lookup]");
  lookupInputs.forEach((input) => {
    input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || !window.htmx) return;
      event.preventDefault();
      window.htmx.trigger(input, "lookup");
    });
  });
  const find = document.getElementById("register-find");
  if (find) {
    find.addEventListener("click", (event) => {
      if (!window.htmx) return;
      const input = Array.from(lookupInputs).find((element) => element.value.trim());
      if (!input) return;
      event.preventDefault();
      window.htmx.trigger(input, "lookup");
    });
  }
});
