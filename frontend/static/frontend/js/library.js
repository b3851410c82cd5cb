// A teacher adds an answered question to the library: the question, subject and grade,
// knowledge points, and a worked solution and/or a video (with a photo of the question, if any).
// The upload shows its progress, since answer videos are large; the grade and subject stay
// chosen for the next one.

import { apiError, format, pageData, uploadForm } from "./page.js";

const config = pageData("config");
const labels = pageData("labels");
const subjects = pageData("subjects");
const grades = pageData("grades");

const form = document.getElementById("library-form");
const textInput = document.getElementById("entry-text");
const gradeSelect = document.getElementById("entry-grade");
const subjectSelect = document.getElementById("entry-subject");
const pointsInput = document.getElementById("entry-points");
const solutionInput = document.getElementById("entry-solution");
const videoInput = document.getElementById("entry-video");
const photoInput = document.getElementById("entry-photo");
const errorBox = document.getElementById("library-error");
const statusBox = document.getElementById("library-status");
const submitButton = document.getElementById("library-submit");
const entryList = document.getElementById("entry-list");
const entryEmpty = document.getElementById("entry-empty");

const FIELDS = {
  text: textInput,
  subject: subjectSelect,
  grade: gradeSelect,
  knowledge_points: pointsInput,
  solution: solutionInput,
  video: videoInput,
  photo: photoInput,
};

let sending = false;

// --- Grade and subject ---------------------------------------------------------------------

// A file input is hidden behind its Chinese button; the name of the file chosen shows beside it.
function showFileName(input) {
  document.getElementById(input.dataset.fileName).textContent = input.files[0]?.name || labels.noFile;
}
for (const input of [videoInput, photoInput]) input.addEventListener("change", () => showFileName(input));

gradeSelect.addEventListener("change", () => {
  const grade = Number(gradeSelect.value);
  const previous = subjectSelect.value;
  const options = subjects
    .filter((subject) => subject.min_grade <= grade && grade <= subject.max_grade)
    .map((subject) => new Option(subject.name, subject.code));
  subjectSelect.replaceChildren(...options);
  if (options.some((option) => option.value === previous)) subjectSelect.value = previous;
  subjectSelect.disabled = options.length === 0;
  document.getElementById("entry-subject-empty").hidden = options.length > 0;
});

/** "减法，应用题; 两位数" -> ["减法", "应用题", "两位数"]: commas of either width, 、 and semicolons. */
function knowledgePoints() {
  return pointsInput.value
    .split(/[,，、;；]/)
    .map((point) => point.trim())
    .filter(Boolean);
}

// --- Messages ------------------------------------------------------------------------------

function showError(message, field) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
  for (const element of form.querySelectorAll("[aria-invalid]")) element.removeAttribute("aria-invalid");
  const target = FIELDS[field];
  if (target) {
    target.setAttribute("aria-invalid", "true");
    target.focus();
  }
}

function showStatus(message) {
  statusBox.textContent = message;
  statusBox.hidden = !message;
}

function setSending(active, label) {
  sending = active;
  submitButton.disabled = active;
  submitButton.setAttribute("aria-busy", String(active));
  submitButton.textContent = label;
}

/** The first problem the server would also find, or null. */
function checkInput() {
  const video = videoInput.files[0];
  const photo = photoInput.files[0];
  if (!textInput.value.trim()) return [labels.emptyText, "text"];
  if (!solutionInput.value.trim() && !video) return [labels.noAnswer, "solution"];
  if (video && video.type && !video.type.startsWith("video/")) return [labels.notAVideo, "video"];
  if (video && video.size > config.maxVideoBytes) return [labels.videoTooLarge, "video"];
  if (photo && photo.type && !photo.type.startsWith("image/")) return [labels.notAnImage, "photo"];
  if (photo && photo.size > config.maxPhotoBytes) return [labels.photoTooLarge, "photo"];
  return null;
}

// --- The list of entries -------------------------------------------------------------------

function answerBadge(text, status) {
  const badge = document.createElement("li");
  badge.className = "badge";
  badge.dataset.status = status;
  badge.textContent = text;
  return badge;
}

function entryItem(entry, videoSent) {
  const item = document.createElement("li");
  item.className = "entry-item";
  item.dataset.testid = "library-entry";
  item.dataset.id = String(entry.id);
  const head = document.createElement("span");
  head.className = "question-item-head";
  const subject = document.createElement("span");
  subject.className = "question-item-subject";
  const grade = document.createElement("span");
  grade.className = "muted";
  grade.textContent = `· ${grades[String(entry.grade)] || entry.grade}`;
  subject.append(`${entry.subject_name} `, grade);
  head.append(subject);
  const text = document.createElement("p");
  text.className = "entry-text";
  text.textContent = entry.text.length > 80 ? `${entry.text.slice(0, 79)}…` : entry.text;
  const answers = document.createElement("ul");
  answers.className = "entry-answers";
  const kinds = new Set(entry.answers.map((answer) => answer.kind));
  // Only ready answers come back: a video just sent is still being prepared.
  if (kinds.has("video")) answers.append(answerBadge(labels.answerVideo, "ready"));
  else if (videoSent) answers.append(answerBadge(labels.answerVideoProcessing, "processing"));
  if (kinds.has("solution")) answers.append(answerBadge(labels.answerSolution, "ready"));
  item.append(head, text, answers);
  return item;
}

function listEntry(entry, videoSent) {
  const previous = entryList.querySelector(`[data-id="${entry.id}"]`);
  if (previous) previous.remove();
  entryList.prepend(entryItem(entry, videoSent));
  entryList.hidden = false;
  entryEmpty.hidden = true;
}

// --- Sending -------------------------------------------------------------------------------

function buildForm() {
  const data = new FormData();
  data.append("text", textInput.value.trim());
  data.append("subject", subjectSelect.value);
  data.append("grade", gradeSelect.value);
  for (const point of knowledgePoints()) data.append("knowledge_points", point);
  data.append("solution", solutionInput.value.trim());
  if (videoInput.files[0]) data.append("video", videoInput.files[0]);
  if (photoInput.files[0]) data.append("photo", photoInput.files[0]);
  return data;
}

function failed(message, field) {
  setSending(false, labels.retry);
  showError(message, field);
}

function send() {
  if (sending) return;
  showStatus("");
  const problem = checkInput();
  if (problem) {
    showError(...problem);
    return;
  }
  showError("");
  setSending(true, labels.saving);
  const videoSent = Boolean(videoInput.files[0]);

  uploadForm(config.createUrl, buildForm(), {
    timeout: 30 * 60_000, // a long video over a slow connection
    onProgress: (percent) => {
      submitButton.textContent = format(labels.savingProgress, { percent });
    },
    onLoad: (status, body) => {
      if ((status === 201 || status === 200) && body && body.id) {
        setSending(false, labels.save);
        listEntry(body, videoSent);
        form.reset(); // the grade and subject are kept: the next answer is likely for the same class
        for (const input of [videoInput, photoInput]) showFileName(input);
        gradeSelect.value = String(body.grade);
        gradeSelect.dispatchEvent(new Event("change"));
        subjectSelect.value = body.subject;
        const processing = videoSent && !body.answers.some((answer) => answer.kind === "video");
        showStatus(processing ? labels.savedProcessing : labels.saved);
        return;
      }
      const error = apiError(body);
      failed(error ? error.message : labels.serverError, error && error.field);
    },
    // The request may or may not have reached the server.
    onFailed: () => failed(labels.networkError),
  });
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  send();
});

for (const input of Object.values(FIELDS)) {
  input.addEventListener("input", () => input.removeAttribute("aria-invalid"));
}
