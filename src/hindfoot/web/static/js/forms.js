// The shared form-error pattern (templates/_forms.html): move focus to the summary of problems when a
// form comes back (a whole page, or a panel swapped in by htmx), and from a problem in the summary to
// its field. Without JavaScript the links still scroll to the field.
(function () {
  function focusSummary() {
    var summary = document.querySelector(".error-summary:not([data-focused])");
    if (!summary) return;
    summary.setAttribute("data-focused", "");
    summary.focus();
  }
  document.addEventListener("DOMContentLoaded", focusSummary);
  document.addEventListener("htmx:afterSettle", focusSummary);
  document.addEventListener("click", function (event) {
    var link = event.target.closest(".error-summary a[href^='#']");
    if (!link) return;
    var field = document.getElementById(link.getAttribute("href").slice(1));
    if (!field) return;
    event.preventDefault();
    field.scrollIntoView({ block: "center" });
    field.focus();
  });
})();
