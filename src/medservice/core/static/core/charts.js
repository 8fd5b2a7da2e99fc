/* Draws every [data-chart] element with Plotly from the JSON spec in the <script
   type="application/json"> element the attribute names (Django's json_script): no inline
   script, so the page runs under CSP script-src 'self'. A click on a point or a bar whose
   customdata is a local URL opens it (the records behind the figure). */
(function () {
  "use strict";

  function localUrl(value) {
    return typeof value === "string" && value.charAt(0) === "/" && value.charAt(1) !== "/";
  }

  function draw(element) {
    var source = document.getElementById(element.getAttribute("data-chart"));
    if (!source || typeof window.Plotly === "undefined") {
      return;
    }
    var spec = JSON.parse(source.textContent);
    window.Plotly.newPlot(element, spec.data, spec.layout || {}, {
      displayModeBar: false,
      responsive: true,
    }).then(function () {
      element.setAttribute("data-chart-drawn", "true");
    });
    element.on("plotly_click", function (event) {
      var point = event && event.points && event.points[0];
      if (point && localUrl(point.customdata)) {
        window.location.assign(point.customdata);
      }
    });
  }

  function drawAll() {
    document.querySelectorAll("[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
