// Forms that keep what was typed when the network drops (form[data-keep-draft]).
//
// Each form gets a submission key once; the key is saved with the draft, so a form sent again
// after a dropped connection carries the same key and the server does nothing twice. A draft is
// kept in localStorage under the form's action URL until the server has answered: after a
// successful action the page comes back without that form's errors and the draft is dropped;
// when it comes back with errors (or the phone was offline) the draft is restored. A form that
// is gone from the page it was sent from (checked in, completed, signed: the action is no longer
// offered) has its draft dropped too, so nothing typed (a customer's signature) stays behind.
(function () {
  "use strict";

  var PREFIX = "medservice:draft:";
  var PENDING = "medservice:pending:";
  var SKIPPED = { csrfmiddlewaretoken: true, origin: true, next: true };

  function storage() {
    try {
      var probe = PREFIX + "probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (error) {
      return null; // private mode or storage disabled: the forms still work, without drafts
    }
  }

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    if (window.crypto && window.crypto.getRandomValues) {
      window.crypto.getRandomValues(bytes);
    } else {
      for (var index = 0; index < bytes.length; index += 1) {
        bytes[index] = Math.floor(Math.random() * 256);
      }
    }
    return Array.prototype.map
      .call(bytes, function (value) {
        return ("0" + value.toString(16)).slice(-2);
      })
      .join("");
  }

  function draftName(form) {
    return PREFIX + (form.getAttribute("action") || window.location.pathname);
  }

  function keyInput(form) {
    return form.querySelector('input[name="submission_key"]');
  }

  function kept(element) {
    if (!element.name || SKIPPED[element.name]) {
      return false;
    }
    if (element.type === "file" || element.type === "password" || element.type === "submit") {
      return false;
    }
    return true;
  }

  function collect(form) {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!kept(element)) {
        return;
      }
      if (element.type === "checkbox" || element.type === "radio") {
        if (element.checked) {
          values[element.name] = values[element.name] || [];
          values[element.name].push(element.value);
        } else if (!(element.name in values)) {
          values[element.name] = [];
        }
      } else if (element.tagName === "SELECT" && element.multiple) {
        values[element.name] = Array.prototype.filter
          .call(element.options, function (option) {
            return option.selected;
          })
          .map(function (option) {
            return option.value;
          });
      } else {
        values[element.name] = element.value;
      }
    });
    return values;
  }

  function restore(form, values) {
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!kept(element) || !(element.name in values)) {
        return;
      }
      var value = values[element.name];
      if (element.type === "checkbox" || element.type === "radio") {
        element.checked = Array.isArray(value) && value.indexOf(element.value) !== -1;
      } else if (element.tagName === "SELECT" && element.multiple) {
        Array.prototype.forEach.call(element.options, function (option) {
          option.selected = Array.isArray(value) && value.indexOf(option.value) !== -1;
        });
      } else if (typeof value === "string") {
        element.value = value;
      }
    });
  }

  function save(store, form) {
    if (!store) {
      return;
    }
    try {
      store.setItem(draftName(form), JSON.stringify(collect(form)));
    } catch (error) {
      // Storage full: typing goes on, only the draft is not kept.
    }
  }

  function read(store, name) {
    if (!store) {
      return null;
    }
    try {
      return JSON.parse(store.getItem(name) || "null");
    } catch (error) {
      return null;
    }
  }

  function hasErrors(form) {
    return Boolean(form.querySelector(".invalid-feedback, .alert-danger"));
  }

  function offlineMessage(form) {
    var message = form.querySelector(".draft-offline");
    if (message) {
      return message;
    }
    message = document.createElement("div");
    message.className = "alert alert-warning py-2 draft-offline";
    message.setAttribute("role", "status");
    var template = document.getElementById("drafts-offline");
    if (template) {
      message.textContent = template.textContent;
    } else if ((document.documentElement.lang || "").indexOf("zh") === 0) {
      message.textContent = "当前无网络：已在本机保存填写的内容，网络恢复后请再次提交。";
    } else {
      message.textContent =
        "You are offline: what you typed is kept on this phone. Send it again when the network is back.";
    }
    form.insertBefore(message, form.firstChild);
    return message;
  }

  function fillPosition(form) {
    var latitude = form.querySelector('input[data-geolocation="latitude"]');
    var longitude = form.querySelector('input[data-geolocation="longitude"]');
    if (!latitude || !longitude || !navigator.geolocation) {
      return;
    }
    navigator.geolocation.getCurrentPosition(
      function (position) {
        latitude.value = position.coords.latitude.toFixed(6);
        longitude.value = position.coords.longitude.toFixed(6);
      },
      function () {
        // Refused or unavailable: the check-in is recorded without a position.
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  }

  function prepare(store, form) {
    var name = draftName(form);
    var draft = read(store, name);
    var pending = store ? store.getItem(PENDING + name) : null;
    if (draft) {
      if (pending && !hasErrors(form)) {
        // Sent, and the page came back without this form's errors: the action went through.
        store.removeItem(name);
        draft = null;
      } else {
        restore(form, draft);
        if (hasErrors(form) || pending) {
          var details = form.closest("details");
          if (details) {
            details.open = true;
          }
        }
      }
    }
    if (store && pending) {
      store.removeItem(PENDING + name);
    }
    var key = keyInput(form);
    if (key && !key.value) {
      key.value = newKey();
      if (draft) {
        save(store, form);
      }
    }
    fillPosition(form);

    form.addEventListener("input", function () {
      save(store, form);
    });
    form.addEventListener("change", function () {
      save(store, form);
    });
    form.addEventListener("submit", function (event) {
      if (key && !key.value) {
        key.value = newKey();
      }
      save(store, form);
      if (navigator.onLine === false) {
        event.preventDefault();
        var message = offlineMessage(form);
        message.hidden = false;
        return;
      }
      if (store) {
        try {
          store.setItem(
            PENDING + name,
            JSON.stringify({ at: Date.now(), page: window.location.pathname })
          );
        } catch (error) {
          // Storage full: the form is sent all the same.
        }
      }
    });
  }

  // Drafts sent from this page whose form the page no longer shows: the action went through
  // (or is no longer offered), so there is nothing to restore them into.
  function dropSentAndGone(store, present) {
    if (!store) {
      return;
    }
    var page = window.location.pathname;
    var sent = [];
    for (var index = 0; index < store.length; index += 1) {
      var key = store.key(index);
      if (key && key.indexOf(PENDING) === 0 && !present[key.slice(PENDING.length)]) {
        sent.push(key);
      }
    }
    sent.forEach(function (key) {
      var marker = read(store, key);
      if (marker && marker.page === page) {
        store.removeItem(key.slice(PENDING.length));
        store.removeItem(key);
      }
    });
  }

  function start() {
    var store = storage();
    var forms = document.querySelectorAll("form[data-keep-draft]");
    var present = {};
    Array.prototype.forEach.call(forms, function (form) {
      present[draftName(form)] = true;
      prepare(store, form);
    });
    dropSentAndGone(store, present);
    window.addEventListener("online", function () {
      Array.prototype.forEach.call(document.querySelectorAll(".draft-offline"), function (item) {
        item.hidden = true;
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
