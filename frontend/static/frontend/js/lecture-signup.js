// The 预约 toggle of lectures, wherever a page lists one (the student's home page, the lecture page): every
// button with `data-signup-url` signs the student up (POST) or withdraws the sign-up (DELETE) and shows
// the server's answer. Its texts come from the page (`signup-labels`); a failure is said in the element
// named by the button's `data-signup-error`.

import { apiError, csrfToken, pageData, setText } from "./page.js";

const labels = pageData("signup-labels");

function render(button, signedUp) {
  button.dataset.signedUp = String(signedUp);
  button.classList.toggle("button-primary", !signedUp);
  button.classList.toggle("button-secondary", signedUp);
  setText(button.querySelector("[data-signup-text]"), signedUp ? labels.signedUp : labels.signUp);
}

async function toggle(button) {
  const errorBox = document.getElementById(button.dataset.signupError);
  const signedUp = button.dataset.signedUp === "true";
  button.disabled = true;
  setText(errorBox, "");
  try {
    const response = await fetch(button.dataset.signupUrl, {
      method: signedUp ? "DELETE" : "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const error = apiError(body);
      setText(errorBox, error ? error.message : labels.error);
      return;
    }
    render(button, body.signed_up);
  } catch {
    setText(errorBox, labels.error);
  } finally {
    button.disabled = false;
  }
}

for (const button of document.querySelectorAll("button[data-signup-url]")) {
  render(button, button.dataset.signedUp === "true");
  button.addEventListener("click", () => toggle(button));
}
