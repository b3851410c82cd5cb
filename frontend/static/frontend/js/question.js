// One question: its live understanding status, its photos and voice clip, the recognised
// text, which the student may correct, and the answered questions matched to it. The server
// renders the first state into the page; the websocket sends it again on every (re)connect and
// then every change.

import { setupMatches } from "./matches.js";
import { apiError, csrfToken, format, pageData } from "./page.js";
import { connect } from "./ws.js";

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

const SETTLED = new Set(["understood", "failed", "resolved", "waiting_teacher"]);

let shownText = null; // the text last put into the textarea by us, to tell the student's edits apart
let saving = false;

function statusLabel(question) {
  if (!SETTLED.has(question.status) && question.stage) return labels[`status_${question.stage}`];
  return labels[`status_${question.status}`] || question.status_label;
}

function setText(element, text) {
  // Live regions re-announce on every write: write only changes.
  if (element.textContent !== text) element.textContent = text;
}

function render(question) {
  statusBox.dataset.status = question.status;
  statusBox.dataset.stage = question.stage || "";
  setText(statusText, statusLabel(question));
  setText(statusDetail, question.status === "failed" ? question.failure_reason || "" : "");
  statusDetail.hidden = !statusDetail.textContent;
  renderAttachments(question.attachments || []);
  renderText(question);
  renderMatches(question);
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

function attachmentKey(attachment) {
  return [attachment.status, attachment.url, attachment.thumbnail_url, attachment.error].join("|");
}

function note(text, className = "media-note") {
  const element = document.createElement("p");
  element.className = className;
  element.textContent = text;
  return element;
}

function photoItem(attachment, number) {
  const item = document.createElement("li");
  item.className = "photo";
  if (attachment.thumbnail_url) {
    const link = document.createElement("a");
    link.href = attachment.url || attachment.thumbnail_url;
    link.target = "_blank";
    link.rel = "noopener";
    link.setAttribute("aria-label", format(labels.openPhoto, { number }));
    const image = document.createElement("img");
    image.src = attachment.thumbnail_url;
    image.alt = format(labels.photoAlt, { number });
    image.decoding = "async";
    if (attachment.width && attachment.height) image.style.aspectRatio = `${attachment.width} / ${attachment.height}`;
    link.append(image);
    item.append(link);
  } else {
    const placeholder = document.createElement("div");
    placeholder.className = "photo-placeholder";
    placeholder.dataset.status = attachment.status;
    placeholder.textContent = attachment.status === "pending" ? labels.photoPending : labels.photoFailed;
    item.append(placeholder);
  }
  if (attachment.status === "failed" && attachment.error) {
    item.append(note(format(labels.recognitionError, { reason: attachment.error })));
  }
  return item;
}

function voiceItem(attachment) {
  const item = document.createElement("div");
  item.className = "voice";
  if (attachment.url) {
    const label = attachment.duration_seconds
      ? format(labels.voiceDuration, { seconds: Math.round(attachment.duration_seconds) })
      : labels.voiceLabel;
    item.append(note(label, "clip-caption"));
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "none";
    audio.src = attachment.url;
    audio.setAttribute("aria-label", label);
    item.append(audio);
  } else {
    item.append(note(attachment.status === "pending" ? labels.voicePending : labels.voiceFailed));
  }
  if (attachment.status === "failed" && attachment.error) {
    item.append(note(format(labels.recognitionError, { reason: attachment.error })));
  }
  return item;
}

// Replace only what changed, so a playing voice clip or a loaded photo is left alone.
function reconcile(container, attachments, build) {
  const existing = new Map(Array.from(container.children, (child) => [child.dataset.id, child]));
  const children = attachments.map((attachment, index) => {
    const key = attachmentKey(attachment);
    const current = existing.get(String(attachment.id));
    if (current && current.dataset.key === key) return current;
    const element = build(attachment, index + 1);
    element.dataset.id = String(attachment.id);
    element.dataset.key = key;
    return element;
  });
  const same = children.length === container.children.length && children.every((c, i) => container.children[i] === c);
  if (!same) container.replaceChildren(...children);
}

function renderAttachments(attachments) {
  const photos = attachments.filter((attachment) => attachment.kind === "photo");
  const voices = attachments.filter((attachment) => attachment.kind === "voice");
  reconcile(photoList, photos, photoItem);
  reconcile(voiceBox, voices, voiceItem);
  photoList.hidden = photos.length === 0;
  voiceBox.hidden = voices.length === 0;
  mediaSection.hidden = attachments.length === 0;
}

// --- Connection ------------------------------------------------------------------------------

function showConnection({ state }) {
  let message = "";
  if (state === "reconnecting") message = navigator.onLine === false ? labels.offline : labels.reconnecting;
  else if (state === "refused") message = labels.refused;
  connectionBox.dataset.state = state;
  setText(connectionBox, message);
  connectionBox.hidden = !message;
}

render(pageData("question-state"));
connect(config.socketPath, {
  "question.status": (event) => render(event.question),
  connection: showConnection,
});
