// The student's ask page: subject and grade, typed text, up to N photos and one voice clip.
//
// One idempotency key is made per draft and reused on every retry of that draft, so a
// request that reached the server before the connection dropped is never asked twice.

import { apiError, format, pageData, randomKey, uploadForm } from "./page.js";
import { recordingSupported, setupRecorder } from "./recorder.js";

const config = pageData("config");
const labels = pageData("labels");
const subjects = pageData("subjects");

const form = document.getElementById("ask-form");
const gradeSelect = document.getElementById("grade");
const subjectSelect = document.getElementById("subject");
const textInput = document.getElementById("question-typed");
const cameraInput = document.getElementById("photo-camera");
const galleryInput = document.getElementById("photo-gallery");
const previews = document.getElementById("photo-previews");
const photoCount = document.getElementById("photo-count");
const photoMessage = document.getElementById("photo-message");
const submitButton = document.getElementById("submit-question");
const errorBox = document.getElementById("ask-error");
const statusBox = document.getElementById("ask-status");

// Photos above this size are re-encoded on the phone before upload (and lose their EXIF data).
const RESIZE_ABOVE_BYTES = 1_500_000;
const MAX_SIDE = 2560;
const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];

let draftKey = randomKey();
let photos = []; // {file, url}
let voice = null; // {blob, filename, seconds}
let sending = false;
let sent = false;

// --- Grade and subject ---------------------------------------------------------------

function subjectsFor(grade) {
  return subjects.filter((subject) => subject.min_grade <= grade && grade <= subject.max_grade);
}

// The text's placeholder names the chosen subject ("照原题输入数学题目").
function showSubject() {
  const chosen = subjectSelect.selectedOptions[0];
  textInput.placeholder = format(labels.typePlaceholder, { subject: chosen ? chosen.text : "" });
}

gradeSelect.addEventListener("change", () => {
  const grade = Number(gradeSelect.value);
  const previous = subjectSelect.value;
  const options = subjectsFor(grade).map((subject) => new Option(subject.name, subject.code));
  subjectSelect.replaceChildren(...options);
  if (options.some((option) => option.value === previous)) subjectSelect.value = previous;
  subjectSelect.disabled = options.length === 0;
  document.getElementById("subject-empty").hidden = options.length > 0;
  showSubject();
});
subjectSelect.addEventListener("change", showSubject);
showSubject(); // a browser may restore another choice than the one the page was sent with

// --- Photos ----------------------------------------------------------------------------

async function preparePhoto(file) {
  const convertible = file.size > RESIZE_ABOVE_BYTES || !PHOTO_TYPES.includes(file.type);
  if (!convertible || !window.createImageBitmap) return file;
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.88));
    if (!blob || (PHOTO_TYPES.includes(file.type) && blob.size >= file.size)) return file;
    return new File([blob], "photo.jpg", { type: "image/jpeg" });
  } catch {
    return file; // the server checks and processes it either way
  }
}

// Additions run one after another, and sending waits for them: no photo is lost or doubled.
let photosReady = Promise.resolve();

function addPhotos(input) {
  const files = Array.from(input.files || []);
  input.value = ""; // the same photo may be picked again after removing it
  photoMessage.textContent = "";
  photosReady = photosReady.then(() => addFiles(files));
}

async function addFiles(files) {
  for (const file of files) {
    if (photos.length >= config.maxPhotos) {
      photoMessage.textContent = labels.photoLimit;
      break;
    }
    if (file.type && !file.type.startsWith("image/")) {
      photoMessage.textContent = labels.notAnImage;
      continue;
    }
    const prepared = await preparePhoto(file);
    if (prepared.size > config.maxPhotoBytes) {
      photoMessage.textContent = labels.photoTooLarge;
      continue;
    }
    photos.push({ file: prepared, url: URL.createObjectURL(prepared) });
    renderPhotos();
  }
}

function removePhoto(index) {
  const [removed] = photos.splice(index, 1);
  URL.revokeObjectURL(removed.url);
  photoMessage.textContent = "";
  renderPhotos();
  const buttons = previews.querySelectorAll("button");
  (buttons[Math.min(index, buttons.length - 1)] || galleryInput).focus();
}

function renderPhotos() {
  const items = photos.map((photo, index) => {
    const number = index + 1;
    const item = document.createElement("li");
    item.className = "preview";
    const image = document.createElement("img");
    image.src = photo.url;
    image.alt = format(labels.photoAlt, { number });
    image.decoding = "async";
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "preview-remove";
    remove.setAttribute("aria-label", format(labels.removePhoto, { number }));
    remove.textContent = labels.remove;
    remove.addEventListener("click", () => removePhoto(index));
    item.append(image, remove);
    return item;
  });
  previews.replaceChildren(...items);
  previews.hidden = items.length === 0;
  photoCount.textContent = photos.length ? format(labels.photoCount, { count: photos.length, max: config.maxPhotos }) : "";
  const full = photos.length >= config.maxPhotos;
  for (const input of [cameraInput, galleryInput]) {
    input.disabled = full;
    input.closest(".file-button").classList.toggle("is-disabled", full);
  }
}

cameraInput.addEventListener("change", () => addPhotos(cameraInput));
galleryInput.addEventListener("change", () => addPhotos(galleryInput));

// --- Voice ------------------------------------------------------------------------------

const recordButton = document.getElementById("record-button");
const voiceStatus = document.getElementById("voice-status");
if (recordingSupported()) {
  setupRecorder({
    button: recordButton,
    buttonText: document.getElementById("record-button-text"),
    timer: document.getElementById("voice-timer"),
    clipBox: document.getElementById("voice-clip"),
    status: voiceStatus,
    labels,
    maxSeconds: config.maxVoiceSeconds,
    onChange(clip) {
      voice = clip;
    },
  });
} else {
  recordButton.hidden = true;
  voiceStatus.textContent = labels.voiceUnsupported;
}

// --- Sending ------------------------------------------------------------------------------

function showError(message, field) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
  for (const element of form.querySelectorAll("[aria-invalid]")) element.removeAttribute("aria-invalid");
  const target = { subject: subjectSelect, grade: gradeSelect, text: textInput }[field];
  if (target) {
    target.setAttribute("aria-invalid", "true");
    target.focus();
  }
}

function setSending(active, label) {
  sending = active;
  submitButton.disabled = active;
  submitButton.setAttribute("aria-busy", String(active));
  submitButton.textContent = label;
}

function buildForm() {
  const data = new FormData();
  data.append("subject", subjectSelect.value);
  data.append("grade", gradeSelect.value);
  data.append("idempotency_key", draftKey);
  data.append("text", textInput.value.trim());
  photos.forEach((photo, index) => data.append("photos", photo.file, photo.file.name || `photo-${index + 1}.jpg`));
  if (voice) data.append("voice", voice.blob, voice.filename);
  return data;
}

function failed(message, field) {
  setSending(false, labels.retry);
  statusBox.textContent = "";
  showError(message, field);
}

async function send() {
  if (sending || sent) return;
  setSending(true, labels.sending);
  await photosReady;
  if (!textInput.value.trim() && !photos.length && !voice) {
    setSending(false, labels.send);
    showError(labels.empty, "text");
    return;
  }
  showError("");
  statusBox.textContent = labels.sending;

  uploadForm(config.createUrl, buildForm(), {
    timeout: 180_000,
    onProgress: (percent) => {
      submitButton.textContent = format(labels.sendingProgress, { percent });
    },
    onLoad: (status, body) => {
      if ((status === 202 || status === 200) && body && body.id) {
        sent = true;
        draftKey = randomKey(); // this draft is done; a new one gets a new key
        statusBox.textContent = labels.sent;
        window.location.assign(config.questionUrl.replace("{id}", String(body.id)));
        return;
      }
      const error = apiError(body);
      failed(error ? error.message : labels.serverError, error && error.field);
    },
    // The request may or may not have reached the server: retrying with the same key is safe.
    onFailed: () => failed(labels.networkError),
  });
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  send();
});

// Coming back with the Back button after sending shows a fresh form and an up-to-date list.
window.addEventListener("pageshow", (event) => {
  if (event.persisted && sent) window.location.reload();
});
