// The stipend pages: a reviewer's steps, corrections and answers; a teacher's objection. Each posts JSON to the
// stipends API and reloads the page, which the server renders with the new state; an error shows its message.
import { csrfToken, pageData } from "./page.js";

const config = pageData("stipend-config");
const labels = pageData("stipend-labels");
const errorBox = document.getElementById("stipend-error");

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
  errorBox.scrollIntoView({ block: "center" });
}

async function post(url, body, button) {
  if (button) button.disabled = true;
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    if (response.ok) {
      window.location.reload();
      return;
    }
    const data = await response.json().catch(() => ({}));
    showError(data.error?.message || labels.failed);
  } catch {
    showError(labels.failed);
  }
  if (button) button.disabled = false;
}

/** "12.5" → 1250, "-0.05" → -5: yuan typed as text to whole fen, without floating point. */
function fen(text) {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!match) return null;
  const value = Number(match[2]) * 100 + Number((match[3] || "").padEnd(2, "0"));
  return match[1] ? -value : value;
}

for (const button of document.querySelectorAll("[data-step]")) {
  button.addEventListener("click", () => {
    if (button.dataset.confirm && !window.confirm(labels[button.dataset.confirm])) return;
    post(config.stepUrl.replace("STEP", button.dataset.step), {}, button);
  });
}

document.getElementById("adjustment-form")?.addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  if (!form.reportValidity()) return;
  post(
    config.adjustmentsUrl,
    {
      teacher: Number(form.teacher.value),
      amount_fen: fen(form.amount.value),
      credit: Number(form.credit.value),
      reason: form.reason.value,
    },
    form.querySelector("button"),
  );
});

document.getElementById("publicity-form")?.addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  if (!form.reportValidity()) return;
  post(config.stepUrl.replace("STEP", "publicity"), { days: Number(form.days.value) }, form.querySelector("button"));
});

for (const form of document.querySelectorAll(".answer-form")) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    post(config.answerUrl.replace("{id}", form.dataset.objection), { text: form.text.value }, form.querySelector("button"));
  });
}

document.getElementById("objection-form")?.addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  if (!form.reportValidity()) return;
  post(config.objectionUrl, { text: form.text.value }, form.querySelector("button"));
});
