// The admin's file inputs (core.admin.FileInput): the chosen file's name next to the button.
"use strict";
document.addEventListener("change", (event) => {
    const input = event.target;
    const choice = input instanceof HTMLInputElement && input.type === "file" ? input.closest(".file-choice") : null;
    if (choice) {
        const name = choice.querySelector(".file-choice-name");
        name.textContent = Array.from(input.files, (file) => file.name).join("、") || name.dataset.none;
    }
});
