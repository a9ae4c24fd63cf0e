// The composer's tabs (one per network and per locale) and its thread parts.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("composer");
  if (!form) return;

  const tabs = form.querySelectorAll('[role="tab"]');
  tabs.forEach((tab) => {
    tab.addEventListener("click", () => {
      tabs.forEach((other) => {
        const selected = other === tab;
        other.setAttribute("aria-selected", String(selected));
        document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
      });
    });
  });

  const template = document.getElementById("thread-part-template");
  form.querySelectorAll("fieldset.thread").forEach((fieldset) => {
    fieldset.querySelector(".add-part").addEventListener("click", () => {
      const part = template.content.firstElementChild.cloneNode(true);
      const area = part.querySelector("textarea");
      area.name = fieldset.dataset.prefix + "thread";
      fieldset.querySelector(".thread-parts").appendChild(part);
      area.focus();
    });
  });
});
