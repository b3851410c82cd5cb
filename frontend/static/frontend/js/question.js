// One question: its live understanding status, its photos and voice clip, the recognised
// text, which the student may correct, and the answered questions matched to it. The server
// renders the first state into the page; the websocket sends it again on every (re)connect and
// then every change.

import { renderAttachments } from "./attachments.js";
import { setupMatches } from "./matches.js";
import { apiError, csrfToken, format, pageData, setText } from "./page.js";
import { connect, connectionNotice } from "./ws.js";

const config = pageData("config");
const labels = pageData("labels");
const grades = pageData("grades");

const statusBox = document.getElementById("status");
const statusText = document.getElementById("status-text");
const statusDetail = document.getElementById("status-detail");
const connectionBox = document.getElementById("connection");
const textSection = document.getElementById("text-section");
const textArea = document.getElementById("question-text");
const textHint = document.getElementById("text-hint");
const saveButton = document.getElementById("save-text");
const saveStatus = document.getElementById("save-status");
const photoList = document.getElementById("photos");
const voiceBox = document.getElementById("voice");
const mediaSection = document.getElementById("media-section");

const SETTLED = new Set(["understood", "failed", "resolved", "waiting_teacher", "with_teacher", "answered", "cancelled"]);

let shownText = null; // the text last put into the textarea by us, to tell the student's edits apart
let saving = false;

function statusLabel(question) {
  if (!SETTLED.has(question.status) && question.stage) return labels[`status_${question.stage}`];
  return labels[`status_${question.status}`] || question.status_label;
}

function render(question) {
  statusBox.dataset.status = question.status;
  statusBox.dataset.stage = question.stage || "";
  setText(statusText, statusLabel(question));
  setText(statusDetail, question.status === "failed" ? question.failure_reason || "" : "");
  statusDetail.hidden = !statusDetail.textContent;
  showAttachments(question.attachments || []);
  renderText(question);
  renderMatches(question);
  renderWaiting(question);
  renderSession(question);
}

const renderMatches = setupMatches({ config, labels, grades, onQuestion: render });

// --- Text ----------------------------------------------------------------------------------

function renderText(question) {
  if (!SETTLED.has(question.status)) {
    textSection.hidden = true;
    return;
  }
  textSection.hidden = false;
  const edited = shownText !== null && textArea.value !== shownText;
  if (!edited) {
    textArea.value = question.text || "";
    shownText = textArea.value;
    fitText();
  }
  let hint = "";
  if (question.status === "failed") hint = labels.failedHint;
  else if (question.low_confidence && question.text_source !== "corrected") hint = labels.lowConfidence;
  setText(textHint, hint);
  textHint.hidden = !hint;
}

// The box grows with the text, so the whole question is readable without scrolling inside it.
function fitText() {
  textArea.style.height = "auto";
  textArea.style.height = `${textArea.scrollHeight + 4}px`;
}

textArea.addEventListener("input", fitText);

async function save() {
  if (saving) return;
  const text = textArea.value.trim();
  if (!text) {
    setText(saveStatus, labels.emptyText);
    saveStatus.dataset.state = "error";
    textArea.focus();
    return;
  }
  saving = true;
  saveButton.disabled = true;
  saveStatus.dataset.state = "saving";
  setText(saveStatus, labels.saving);
  try {
    const response = await fetch(config.detailUrl, {
      method: "PATCH",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ text }),
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const error = apiError(body);
      throw new Error(error ? error.message : labels.saveError);
    }
    shownText = null; // take the saved text as it is now
    render(body);
    saveStatus.dataset.state = "saved";
    setText(saveStatus, labels.saved);
  } catch (error) {
    saveStatus.dataset.state = "error";
    setText(saveStatus, error instanceof TypeError ? labels.saveError : error.message || labels.saveError);
  } finally {
    saving = false;
    saveButton.disabled = false;
  }
}

if (config.canEdit) {
  document.getElementById("text-form").addEventListener("submit", (event) => {
    event.preventDefault();
    save();
  });
  textArea.addEventListener("input", () => {
    if (saveStatus.dataset.state !== "saving") {
      saveStatus.dataset.state = "";
      setText(saveStatus, "");
    }
  });
}

// --- Photos and voice ----------------------------------------------------------------------

function showAttachments(attachments) {
  mediaSection.hidden = renderAttachments({ photoList, voiceBox }, attachments, labels) === 0;
}

// --- Waiting for a teacher -----------------------------------------------------------------

const waitingBox = document.getElementById("waiting");
const waitingPosition = document.getElementById("waiting-position");
const waitingEstimate = document.getElementById("waiting-estimate");
const stopButton = document.getElementById("stop-waiting");
const waitingError = document.getElementById("waiting-error");

function renderWaiting(question) {
  waitingBox.hidden = question.status !== "waiting_teacher";
}

function minutes(seconds) {
  return Math.max(1, Math.round(seconds / 60));
}

function renderQueue(queue) {
  let position = labels.queueNext;
  if (!queue.exact) position = format(labels.queueAheadAbout, { count: queue.position });
  else if (queue.position > 1) position = format(labels.queueAhead, { count: queue.position - 1 });
  setText(waitingPosition, position);
  let estimate;
  if (queue.teachers_on_duty === 0) {
    estimate = queue.next_shift_at
      ? format(labels.queueNextShift, {
          time: new Date(queue.next_shift_at).toLocaleString(document.documentElement.lang, {
            month: "numeric",
            day: "numeric",
            hour: "2-digit",
            minute: "2-digit",
          }),
        })
      : labels.queueNobody;
  } else if (queue.estimate_seconds === 0) estimate = labels.queueSoon;
  else estimate = format(labels.queueEstimate, { minutes: minutes(queue.estimate_seconds) });
  setText(waitingEstimate, estimate);
}

if (stopButton) {
  stopButton.addEventListener("click", async () => {
    stopButton.disabled = true;
    setText(waitingError, "");
    try {
      const response = await fetch(config.stopWaitingUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      });
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        const error = apiError(body);
        throw new Error(error ? error.message : labels.stopError);
      }
      render(body);
    } catch (error) {
      setText(waitingError, error instanceof TypeError ? labels.stopError : error.message || labels.stopError);
    } finally {
      stopButton.disabled = false;
    }
  });
}

// --- The session with a teacher ------------------------------------------------------------

const sessionLink = document.getElementById("session-link");

function renderSession(question) {
  sessionLink.hidden = !question.session_id;
  if (!question.session_id) return;
  sessionLink.href = config.sessionUrl.replace("{id}", question.session_id);
  setText(sessionLink, question.status === "with_teacher" ? labels.enterSession : labels.seeSession);
}

// The student is taken into the room when the teacher opens it.
function enterSession(event) {
  if (config.canEdit) window.location.assign(event.url);
}

render(pageData("question-state"));
connect(config.socketPath, {
  "question.status": (event) => render(event.question),
  "queue.position": (event) => renderQueue(event.queue),
  "session.opened": enterSession,
  connection: connectionNotice(connectionBox, labels),
});
