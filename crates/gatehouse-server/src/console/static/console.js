// gatehouse review console: keyboard navigation and live countdowns.
// Progressive enhancement only: every action works without this file.
(function () {
  "use strict";
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tr[data-request-id]")); }
  var current = -1;
  function select(i) {
    var list = rows();
    if (!list.length) return;
    current = Math.max(0, Math.min(list.length - 1, i));
    list.forEach(function (r, j) { r.classList.toggle("selected", j === current); });
    list[current].focus();
  }
  function typing(e) {
    var t = e.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }
  var pendingG = false;
  document.addEventListener("keydown", function (e) {
    var help = document.getElementById("help");
    if (e.key === "Escape" && help && !help.hidden) { help.hidden = true; return; }
    if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (pendingG) {
      pendingG = false;
      var go = { q: "/console/", h: "/console/history", o: "/console/overview", s: "/console/samples", d: "/console/shadow" }[e.key];
      if (go) { window.location.href = go; e.preventDefault(); }
      return;
    }
    var list = rows();
    switch (e.key) {
      case "?": if (help) { help.hidden = !help.hidden; } e.preventDefault(); break;
      case "g": pendingG = true; break;
      case "j": select(current + 1); e.preventDefault(); break;
      case "k": select(current - 1); e.preventDefault(); break;
      case "Enter":
        if (current >= 0 && list[current]) {
          var link = list[current].querySelector("a.open");
          if (link) { window.location.href = link.getAttribute("href"); e.preventDefault(); }
        }
        break;
      case "x":
        if (current >= 0 && list[current]) {
          var box = list[current].querySelector("input[type=checkbox]");
          if (box) { box.checked = !box.checked; }
          e.preventDefault();
        }
        break;
      case "a": case "r":
        var form = document.getElementById("review");
        if (form) {
          var reason = form.querySelector("textarea[name=reason]");
          form.dataset.intent = e.key === "a" ? "approve" : "reject";
          if (reason) { reason.focus(); }
          e.preventDefault();
        }
        break;
      case "/":
        var f = document.querySelector("#filters input, #search input");
        if (f) { f.focus(); e.preventDefault(); }
        break;
    }
  });
  // In the reason box of a review form, Ctrl/Cmd+Enter submits the intent
  // chosen with a or r, and nothing else: someone who clicked into the box
  // and typed "fraud, do not pay" must not approve by reflex.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || !(e.ctrlKey || e.metaKey)) return;
    var form = document.getElementById("review");
    if (!form || !form.contains(e.target)) return;
    if (form.dataset.intent !== "approve" && form.dataset.intent !== "reject") return;
    var button = document.getElementById(form.dataset.intent);
    if (button) { e.preventDefault(); button.click(); }
  });
  function human(s) {
    var a = Math.abs(s), t;
    if (a < 60) t = a + " s";
    else if (a < 3600) t = Math.floor(a / 60) + " min " + (a % 60) + " s";
    else if (a < 86400) t = Math.floor(a / 3600) + " h " + Math.floor((a % 3600) / 60) + " min";
    else t = Math.floor(a / 86400) + " d " + Math.floor((a % 86400) / 3600) + " h";
    return s < 0 ? t + " ago" : t;
  }
  function tick() {
    var now = Math.floor(Date.now() / 1000);
    document.querySelectorAll("[data-deadline-unix]").forEach(function (el) {
      var left = parseInt(el.getAttribute("data-deadline-unix"), 10) - now;
      var target = el.id === "deadline" ? document.getElementById("countdown") : el;
      if (!target || isNaN(left)) return;
      target.textContent = left > 0 ? human(left) + " left" : "deadline passed " + human(left);
      target.classList.toggle("late", left <= 300);
    });
  }
  tick();
  setInterval(tick, 1000);
})();
