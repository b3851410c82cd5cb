// The lecturer's studio (frontend/studio.html): the board of a lecture, board protocol v1, written here and
// broadcast to every student watching; the voice from the microphone; going live, ending, and the audience.
// The lecture socket (ws/lectures/<id>/) stores each board message before it is broadcast and sends it back
// numbered; a reconnect asks for what came after the last event this page has. The lecture's slides (the pages
// uploaded and the photos of the questions it covers) are offered beside the board: a tap puts one on the page
// in view (board.background with the slide's id); before the start new slides may be uploaded.

import { liveAudioSupported, microphoneStart, voicePlayback } from "./audio.js";
import { Board } from "./board.js";
import { boardTools } from "./board-tools.js";
import { moderationPanel } from "./lecture-interaction.js";
import { apiError, format, pageData, setText, transientMessage, uploadForm } from "./page.js";
import { connect, connectionNotice } from "./ws.js";

const config = pageData("config");
const labels = pageData("labels");
const byId = (id) => document.getElementById(id);
const PAGES = 50;

const root = byId("studio");
const startButton = byId("lecture-start");
const endButton = byId("lecture-end");
const micButton = byId("mic");
const showError = transientMessage(byId("studio-error"), 5000);

let lecture = null; // the lecture as the server last told it
let microphone = null;
let tools = null; // the drawing tools, once the board they work on exists

function sendBoard(message) {
  if (!socket.send(message)) showError(labels.notConnected);
}

let slides = config.slides; // {status, error, slides: [{id, number, entry, url, thumbnail_url}]}
const slideUrl = (id) => slides.slides.find((slide) => slide.id === id)?.url ?? null;

const board = new Board(byId("board"), {
  role: "teacher",
  photoUrl: slideUrl,
  onMessage: sendBoard,
  onChange: () => tools?.render(),
});
const live = () => lecture !== null && lecture.status === "live";
tools = boardTools(board, {
  mayDraw: live,
  pageLimit: () => PAGES,
  labels,
  pages: true,
  onRender: () => (byId("slide-remove").hidden = !live() || !board.currentBackground),
});

function take(event) {
  if (typeof event.seq === "number" && event.seq > board.seq) board.apply(event);
}

function frame(event) {
  // A number skipped means a frame was lost: the snapshot of a new connection brings everything after board.seq.
  if (!board.applyFrame(event.events)) socket.reconnect();
}

function render() {
  root.dataset.status = lecture.status;
  setText(byId("lecture-status"), labels[`status_${lecture.status}`]);
  startButton.hidden = lecture.status !== "scheduled";
  endButton.hidden = lecture.status !== "live";
  byId("toolbar").hidden = !live();
  byId("moderation").hidden = !live();
  if (!live()) microphoneStop();
  micButton.disabled = !live() || !liveAudioSupported();
  tools.apply();
  tools.render();
  renderSlides();
}

// --- Slides ----------------------------------------------------------------------------------

let slidesTimer = null;

function renderSlides() {
  const status = slides.status;
  const failed = status === "failed" && format(labels.slides_failed, { error: slides.error });
  const none = slides.slides.length ? "" : labels.slidesNone;
  setText(byId("slides-status"), failed || labels[`slides_${status}`] || none);
  let photos = 0;
  byId("slide-choices").replaceChildren(
    ...slides.slides.map((slide) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "photo-choice";
      button.dataset.slide = String(slide.id);
      const label = slide.number
        ? format(labels.slidePage, { number: slide.number })
        : format(labels.slidePhoto, { number: ++photos });
      button.setAttribute("aria-label", label);
      const image = document.createElement("img");
      image.src = slide.thumbnail_url;
      image.alt = "";
      image.loading = "lazy";
      button.append(image);
      item.append(button);
      return item;
    }),
  );
  byId("slides-upload").hidden = lecture === null || lecture.status !== "scheduled";
  clearTimeout(slidesTimer);
  if (status === "pending" || status === "rendering") slidesTimer = setTimeout(slidesFetch, 2000);
}

async function slidesFetch() {
  try {
    const response = await fetch(config.slidesUrl, { headers: { Accept: "application/json" } });
    if (response.ok) slides = await response.json();
  } catch {
    // offline a moment: the next try comes with the next render
  }
  renderSlides();
}

byId("slide-choices").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-slide]");
  if (!button) return;
  if (!live()) showError(labels.slidesLive);
  else board.placeBackground(Number(button.dataset.slide));
});
byId("slide-remove").addEventListener("click", () => board.placeBackground(null));
renderSlides();

const slidesFile = byId("slides-file");
slidesFile.addEventListener("change", () => {
  const files = Array.from(slidesFile.files || []);
  slidesFile.value = "";
  if (!files.length) return;
  const form = new FormData();
  for (const file of files) form.append("files", file);
  uploadForm(config.slidesUrl, form, {
    timeout: 300_000,
    onProgress: (percent) => setText(byId("slides-status"), format(labels.slidesUploading, { percent })),
    onLoad: (status, body) => {
      if (status === 202) slides = body;
      else showError(apiError(body)?.message || labels.error);
      renderSlides();
    },
    onFailed: () => {
      showError(labels.slidesUploadFailed);
      renderSlides();
    },
  });
});

function snapshot(event) {
  lecture = event.lecture;
  board.batch(() => event.events.forEach(take));
  showAudience(event.lecture.viewers);
  moderation.snapshot(event);
  render();
}

function showAudience(count) {
  if (typeof count === "number") setText(byId("audience"), format(labels.audience, { count }));
}


async function microphoneToggle() {
  if (microphone) {
    microphoneStop();
    return;
  }
  try {
    microphone = await microphoneStart((frame) => socket.sendBinary(frame));
  } catch (error) {
    showError(error && error.name === "NotAllowedError" ? labels.micDenied : labels.micUnavailable);
  }
  renderMicrophone();
}

function microphoneStop() {
  if (microphone) microphone.stop();
  microphone = null;
  renderMicrophone();
}

function renderMicrophone() {
  micButton.setAttribute("aria-pressed", String(Boolean(microphone)));
  setText(micButton, microphone ? labels.micOn : labels.micOff);
}

const moderation = moderationPanel(byId("moderation"), {
  send: (message) => socket.send(message),
  labels,
  showError,
});

startButton.addEventListener("click", () => {
  if (!socket.send({ type: "lecture.start" })) showError(labels.notConnected);
});
endButton.addEventListener("click", () => {
  if (window.confirm(labels.confirmEnd) && !socket.send({ type: "lecture.end" })) showError(labels.notConnected);
});
micButton.addEventListener("click", microphoneToggle);

const hear = voicePlayback(byId("listen"), byId("voice")); // a student the lecturer invited to speak

const socket = connect(() => `${config.socketPath}?after=${board.seq}`, {
  "lecture.snapshot": snapshot,
  // Every event of the log comes in the frames, in order (a student invited to draw writes to it too); the
  // studio's own board messages come back one by one as well, acknowledged, and are drawn here already.
  "lecture.frame": frame,
  "lecture.status": (event) => {
    lecture = { ...lecture, ...event.lecture };
    render();
  },
  "lecture.audience": (event) => showAudience(event.viewers),
  ...moderation.handlers,
  binary: hear,
  error: (event) => showError(labels[`error_${event.code}`] || event.message || labels.error),
  connection: connectionNotice(byId("connection"), labels),
});
