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
  bindAutocompletes(document);
  document.body.addEventListener("htmx:afterSwap", (event) => {
    bindBulkSelection(event.target);
    bindAutocompletes(event.target);
  });
  // A page restored from htmx's history cache is new markup: its boxes need their handlers.
  document.body.addEventListener("htmx:historyRestore", () => bindAutocompletes(document));
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

// Autocomplete (core/widgets.py AutocompleteSelect): a combobox that asks the server for the
// matching records as the user types and keeps the chosen id in a hidden input. The page holds
// only the chosen record, so a choice among thousands costs nothing to render.
const boundAutocompletes = new WeakSet();

function bindAutocompletes(root) {
  root.querySelectorAll("[data-autocomplete]").forEach((box) => {
    if (boundAutocompletes.has(box)) return;
    boundAutocompletes.add(box);
    setUpAutocomplete(box);
  });
}

function setUpAutocomplete(box) {
  const input = box.querySelector('[role="combobox"]');
  const hidden = box.querySelector("[data-autocomplete-value]");
  const listbox = box.querySelector('[role="listbox"]');
  const status = box.querySelector('[role="status"]');
  const texts = box.dataset;
  // The id travels in the hidden input; the typed text is only a search (see the widget).
  input.removeAttribute("name");
  let chosenLabel = input.value;
  let options = [];
  let active = -1;
  let timer = null;
  let controller = null;

  const dependency = () => {
    const name = box.dataset.dependsOn;
    if (!name || !input.form) return null;
    return input.form.querySelector(`input[type="hidden"][name="${CSS.escape(name)}"]`);
  };

  const close = () => {
    listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };

  const highlight = (index) => {
    const items = listbox.querySelectorAll('[role="option"]');
    items.forEach((item, position) => {
      const on = position === index;
      item.setAttribute("aria-selected", on ? "true" : "false");
      item.classList.toggle("active", on);
      if (on) {
        input.setAttribute("aria-activedescendant", item.id);
        item.scrollIntoView({ block: "nearest" });
      }
    });
    if (index < 0) input.removeAttribute("aria-activedescendant");
    active = index;
  };

  const choose = (option) => {
    const changed = hidden.value !== String(option.id);
    hidden.value = String(option.id);
    input.value = option.label;
    chosenLabel = option.label;
    close();
    // Forms listen for "change" (the list filters reload through htmx on it).
    if (changed) hidden.dispatchEvent(new Event("change", { bubbles: true }));
  };

  const clear = () => {
    const changed = hidden.value !== "";
    hidden.value = "";
    input.value = "";
    chosenLabel = "";
    close();
    if (changed) hidden.dispatchEvent(new Event("change", { bubbles: true }));
  };

  const show = (results, more) => {
    options = results;
    listbox.replaceChildren();
    results.forEach((option, index) => {
      const item = document.createElement("li");
      item.id = `${listbox.id}-${index}`;
      item.className = "list-group-item list-group-item-action";
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      item.textContent = option.label;
      if (option.detail) {
        const detail = document.createElement("small");
        detail.className = "text-body-secondary ms-2";
        detail.textContent = option.detail;
        item.append(detail);
      }
      item.addEventListener("click", () => choose(option));
      listbox.append(item);
    });
    let message = results.length ? texts.textCount.replace("%(count)s", results.length) : texts.textNone;
    if (results.length === 0 || more) {
      const note = document.createElement("li");
      note.className = "list-group-item small text-body-secondary";
      note.setAttribute("aria-hidden", "true");
      note.textContent = results.length === 0 ? texts.textNone : texts.textMore;
      listbox.append(note);
    }
    if (more) message = `${message} ${texts.textMore}`;
    status.textContent = message;
    listbox.hidden = false;
    input.setAttribute("aria-expanded", "true");
    active = -1;
  };

  const search = () => {
    if (controller) controller.abort();
    controller = new AbortController();
    const url = new URL(box.dataset.source, window.location.href);
    url.searchParams.set("q", input.value.trim());
    const other = dependency();
    if (other) url.searchParams.set(box.dataset.dependsOn, other.value);
    fetch(url, { headers: { Accept: "application/json" }, signal: controller.signal })
      .then((response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return response.json();
      })
      .then((body) => {
        if (document.activeElement === input) show(body.results, body.more);
      })
      .catch((error) => {
        if (error.name === "AbortError") return;
        status.textContent = texts.textFailed;
      });
  };

  const searchSoon = () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 200);
  };

  input.addEventListener("input", searchSoon);
  // Another script may choose for the user ({id, label}): the call look-up fills the owner.
  box.addEventListener("autocomplete:choose", (event) => choose(event.detail));
  input.addEventListener("focus", () => {
    // Selecting the label lets the user type over it at once.
    input.select();
  });
  // The text box carries no value of its own: its "change" must not reload a filtered list.
  input.addEventListener("change", (event) => event.stopPropagation());
  input.addEventListener("keydown", (event) => {
    const open = !listbox.hidden;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!open) {
        search();
        return;
      }
      if (!options.length) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight((active + step + options.length) % options.length);
    } else if (event.key === "Enter" && open && options.length) {
      event.preventDefault();
      choose(options[active >= 0 ? active : 0]);
    } else if (event.key === "Escape") {
      if (open) event.preventDefault();
      input.value = chosenLabel;
      close();
    }
  });
  input.addEventListener("blur", () => {
    window.clearTimeout(timer);
    if (controller) controller.abort();
    if (input.value.trim() === "") {
      clear();
      return;
    }
    // Text left unpicked is not a choice: show the chosen record again.
    input.value = chosenLabel;
    close();
  });
  // Keep the focus in the text box while an option is clicked, so blur does not close first.
  listbox.addEventListener("mousedown", (event) => event.preventDefault());
  const other = dependency();
  if (other) {
    let previous = other.value;
    other.addEventListener("change", () => {
      // A department of the previous organisation is no longer a valid choice.
      if (other.value !== previous && hidden.value) clear();
      previous = other.value;
    });
  }
}
