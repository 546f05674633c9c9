// The day grid: drag a booked visit onto a free time to move it. The drop posts the page's move form
// (the same request as "Move" then "Move here", checked by the server like a new booking).
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("grid-move-form");
  if (!form) return;
  var dragged = null;
  document.querySelectorAll("[data-move]").forEach(function (cell) {
    cell.addEventListener("dragstart", function (event) {
      dragged = cell.getAttribute("data-move");
      event.dataTransfer.setData("text/plain", dragged);
      event.dataTransfer.effectAllowed = "move";
      cell.classList.add("grid-dragging");
    });
    cell.addEventListener("dragend", function () {
      cell.classList.remove("grid-dragging");
    });
  });
  document.querySelectorAll("td[data-start]").forEach(function (cell) {
    cell.addEventListener("dragover", function (event) {
      if (!dragged) return;
      event.preventDefault();
      cell.classList.add("grid-drop");
    });
    cell.addEventListener("dragleave", function () {
      cell.classList.remove("grid-drop");
    });
    cell.addEventListener("drop", function (event) {
      event.preventDefault();
      var id = dragged || event.dataTransfer.getData("text/plain");
      if (!id) return;
      form.action = "/appointments/" + encodeURIComponent(id) + "/move";
      form.elements.start.value = cell.getAttribute("data-start");
      form.elements.practitioner_id.value = cell.getAttribute("data-practitioner");
      form.elements.location_id.value = cell.getAttribute("data-location");
      form.submit();
    });
  });
});
