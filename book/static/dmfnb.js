// The book's one script, served from the site. On a narrow screen a formula wider than the
// column (a display equation) or than its paragraph (an inline one) is shrunk to fit, down to half
// its size, since MathJax 3 does not break lines; wider ones are split in the chapter's source.
(function () {
  "use strict";
  var MIN_SCALE = 0.5;

  function fit() {
    var boxes = document.querySelectorAll("article mjx-container");
    Array.prototype.forEach.call(boxes, function (box) {
      if (!box.dataset.dmfnbSize) {
        box.dataset.dmfnbSize = String(parseFloat(getComputedStyle(box).fontSize));
      }
      var size = parseFloat(box.dataset.dmfnbSize);
      box.style.fontSize = size + "px";
      var math = box.querySelector("mjx-math");
      // A display formula has its own box; an inline one has the width of its paragraph.
      var display = box.getAttribute("display") === "true";
      var holder = display ? box : box.parentElement.closest("p, li, dd, td, th, div");
      var room = holder ? holder.clientWidth : 0;
      var need = math ? math.getBoundingClientRect().width : box.scrollWidth;
      if (room > 0 && need > room) {
        box.style.fontSize = size * Math.max(MIN_SCALE, room / need * 0.98) + "px";
      }
    });
  }

  function afterTypesetting() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(fit);
    }
  }

  window.addEventListener("load", afterTypesetting);
  window.addEventListener("resize", fit);
})();
