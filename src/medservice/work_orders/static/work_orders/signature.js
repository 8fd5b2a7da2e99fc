/* Signature pad: draw on a canvas with a finger, pen or mouse (pointer events); the drawing
   goes into the hidden input as a PNG data URL when the stroke ends. No library, no inline
   script (the CSP forbids them). Safe to load more than once: each pad is set up once. */
(function () {
  "use strict";

  function setUp(pad) {
    if (pad.dataset.signatureReady) return;
    pad.dataset.signatureReady = "1";
    var canvas = pad.querySelector("canvas");
    var input = pad.querySelector("[data-signature-input]");
    var clear = pad.querySelector("[data-signature-clear]");
    if (!canvas || !input) return;
    var context = canvas.getContext("2d");
    var drawing = false;
    var drawn = false;
    var last = null;

    // The canvas is drawn at the screen's pixel density so strokes stay sharp; resizing
    // wipes it, so what was drawn is put back from the input.
    function fit() {
      var ratio = window.devicePixelRatio || 1;
      var width = canvas.clientWidth || 300;
      var height = canvas.clientHeight || 200;
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      context.setTransform(ratio, 0, 0, ratio, 0, 0);
      context.lineWidth = 2.2;
      context.lineCap = "round";
      context.lineJoin = "round";
      context.strokeStyle = "#111";
      restore();
    }

    function restore() {
      if (!input.value || input.value.indexOf("data:image/png;base64,") !== 0) return;
      var image = new Image();
      image.onload = function () {
        context.drawImage(image, 0, 0, canvas.clientWidth, canvas.clientHeight);
        drawn = true;
      };
      image.src = input.value;
    }

    function point(event) {
      var box = canvas.getBoundingClientRect();
      return { x: event.clientX - box.left, y: event.clientY - box.top };
    }

    function save() {
      if (drawn) {
        input.value = canvas.toDataURL("image/png");
        input.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }

    canvas.style.touchAction = "none";
    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      drawing = true;
      last = point(event);
      if (canvas.setPointerCapture) canvas.setPointerCapture(event.pointerId);
      context.beginPath();
      context.arc(last.x, last.y, context.lineWidth / 2, 0, Math.PI * 2);
      context.fillStyle = context.strokeStyle;
      context.fill();
      drawn = true;
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) return;
      event.preventDefault();
      var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
      events.forEach(function (item) {
        var next = point(item);
        context.beginPath();
        context.moveTo(last.x, last.y);
        context.lineTo(next.x, next.y);
        context.stroke();
        last = next;
      });
    });
    function end(event) {
      if (!drawing) return;
      drawing = false;
      if (canvas.releasePointerCapture && event.pointerId !== undefined) {
        try { canvas.releasePointerCapture(event.pointerId); } catch (ignored) { /* not captured */ }
      }
      save();
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("pointerleave", end);

    if (clear) {
      clear.addEventListener("click", function () {
        context.clearRect(0, 0, canvas.width, canvas.height);
        drawn = false;
        input.value = "";
        input.dispatchEvent(new Event("change", { bubbles: true }));
      });
    }

    var form = pad.closest("form");
    if (form) form.addEventListener("submit", save);
    function refit() {
      save();
      fit();
    }
    window.addEventListener("resize", refit);
    pad.addEventListener("signature:fit", refit);
    fit();
  }

  function setUpAll() {
    document.querySelectorAll("[data-signature-pad]").forEach(setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAll);
  } else {
    setUpAll();
  }
  // A pad inside a closed <details> has no size until it opens.
  document.addEventListener("toggle", function (event) {
    var pads = event.target.querySelectorAll ? event.target.querySelectorAll("[data-signature-pad]") : [];
    pads.forEach(function (pad) {
      if (pad.dataset.signatureReady && event.target.open) {
        pad.dispatchEvent(new Event("signature:fit"));
      }
    });
  }, true);
}());
