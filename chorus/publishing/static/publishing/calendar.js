// Drag a chip to another day (month) or hour (week): the drop submits the page's reschedule
// form, which carries the CSRF token. Without JavaScript each chip links to the same change.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("move-form");
  if (!form) return;
  document.querySelectorAll(".chip[draggable=true]").forEach((chip) => {
    chip.addEventListener("dragstart", (event) => {
      event.dataTransfer.setData("text/plain", chip.dataset.delivery);
      event.dataTransfer.effectAllowed = "move";
    });
  });
  document.querySelectorAll("[data-drop-day]").forEach((cell) => {
    cell.addEventListener("dragover", (event) => {
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      cell.classList.add("drop-target");
    });
    cell.addEventListener("dragleave", () => cell.classList.remove("drop-target"));
    cell.addEventListener("drop", (event) => {
      event.preventDefault();
      cell.classList.remove("drop-target");
      const id = event.dataTransfer.getData("text/plain");
      if (!/^\d+$/.test(id)) return;
      form.action = form.dataset.action.replace("/0/", `/${id}/`);
      form.elements.day.value = cell.dataset.dropDay;
      form.elements.hour.value = cell.dataset.dropHour || "";
      form.submit();
    });
  });
});
