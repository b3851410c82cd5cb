// The admin's autocomplete boxes (select2) are named only by the option chosen, so an empty one has no name:
// name each, and the box showing its choice, by its field's label as well. select2 builds its boxes when jQuery
// is ready, which may come after this script, so they are named as they appear.
function nameAutocompletes() {
  for (const select of document.querySelectorAll("select.admin-autocomplete")) {
    const label = document.querySelector(`label[for="${select.id}"]`);
    if (!label) continue;
    label.id ||= `${select.id}_label`;
    for (const box of select.parentElement.querySelectorAll(".select2-selection, .select2-selection__rendered")) {
      const names = box.getAttribute("aria-labelledby") || box.id || "";
      if (!names.split(" ").includes(label.id)) box.setAttribute("aria-labelledby", `${label.id} ${names}`.trim());
    }
  }
}

if (document.querySelector("select.admin-autocomplete")) {
  nameAutocompletes();
  new MutationObserver(nameAutocompletes).observe(document.body, { childList: true, subtree: true });
}
