// A lecture as its students (and observing teachers and staff) see it: before the start a countdown, during
// it the lecturer's board, read-only, with the voice, and a message when it ends.
//
// The lecture's socket (ws/lectures/<id>/?after=<seq>) sends one `lecture.snapshot` on every (re)connect:
// with after=0 what draws the board as it is now, with after>0 every event this page has not seen; then
// `lecture.frame`s of events numbered on from the snapshot's `last_seq`, `lecture.status` when the lecture
// starts or ends, and the lecturer's voice as binary frames. Events come in order from one writer, so a
// number skipped means a frame was lost: connecting again asks for everything after the last one applied.

import { audioBlocked, liveAudioSupported, microphoneStart, voicePlayback } from "./audio.js";
import { Board } from "./board.js";
import { moderationPanel, viewerPanel } from "./lecture-interaction.js";
import { format, pageData, setText, transientMessage } from "./page.js";
import { connect, connectionNotice } from "./ws.js";

const config = pageData("config");
const labels = pageData("labels");
const byId = (id) => document.getElementById(id);

const root = byId("lecture");
const countdown = byId("countdown");
const notice = byId("lecture-notice");
const listenButton = byId("listen");
const voiceNote = byId("voice");
// Read-only, but for a student the lecturer invites to draw: then their strokes go to the lecture's log. A
// page's background is one of the lecture's slides, by its id.
const board = new Board(byId("board"), {
  role: config.role === "viewer" ? "student" : null,
  photoUrl: (slide) => `${config.slidesPath}${slide}/image`,
  onMessage: (message) => {
    if (!socket || !socket.send(message)) showError(labels.notConnected);
  },
});
const startsAt = Date.parse(config.startsAt);

let status = config.status;
let countdownTimer = null;

// --- Questions and quick checks (students), moderation (moderators) --------------------------

const showError = transientMessage(byId("lecture-error"), 6000);

const panelRoot = byId("interaction") || byId("moderation");
const speakButton = byId("speak");
let microphone = null;

function microphoneStop() {
  if (microphone) microphone.stop();
  microphone = null;
  speakButton.setAttribute("aria-pressed", "false");
  setText(speakButton, labels.speakStart);
}

async function speakToggle() {
  if (microphone) {
    microphoneStop();
    return;
  }
  try {
    microphone = await microphoneStart((frame) => socket.sendBinary(frame));
    speakButton.setAttribute("aria-pressed", "true");
    setText(speakButton, labels.speakStop);
  } catch (error) {
    showError(error && error.name === "NotAllowedError" ? labels.micDenied : labels.micUnavailable);
  }
}

/** Invited to "speak" or "draw", or (null) not any more. */
function onStage(mode) {
  board.tool = mode === "draw" ? "pen" : null;
  if (speakButton) {
    speakButton.hidden = mode !== "speak";
    speakButton.disabled = !liveAudioSupported();
    if (mode !== "speak") microphoneStop();
  }
}

speakButton?.addEventListener("click", speakToggle);

const panelOptions = {
  send: (message) => socket !== null && socket.send(message),
  labels,
  showError,
  onStage,
  photos: { url: config.questionPhotosUrl, maxBytes: config.maxPhotoBytes },
};
const panel =
  config.role === "viewer"
    ? viewerPanel(panelRoot, panelOptions)
    : config.role === "moderator"
      ? moderationPanel(panelRoot, panelOptions)
      : null;

// --- Status and countdown --------------------------------------------------------------------

function two(number) {
  return String(number).padStart(2, "0");
}

function tick() {
  const left = Math.max(0, Math.floor((startsAt - Date.now()) / 1000));
  if (left === 0) {
    setText(countdown, labels.startingSoon);
    return;
  }
  const days = Math.floor(left / 86_400);
  const time = `${two(Math.floor((left % 86_400) / 3600))}:${two(Math.floor((left % 3600) / 60))}:${two(left % 60)}`;
  setText(countdown, days ? format(labels.countdownDays, { days, time }) : format(labels.countdown, { time }));
}

function renderStatus(next) {
  status = next;
  root.dataset.status = status;
  const badge = byId("lecture-status");
  badge.dataset.status = status;
  setText(badge, labels[`status_${status}`] || status);
  const scheduled = status === "scheduled";
  countdown.hidden = !scheduled;
  clearInterval(countdownTimer);
  countdownTimer = scheduled ? setInterval(tick, 1000) : null;
  if (scheduled) tick();
  // After the end the board stays as the lecturer left it, if this page saw it.
  byId("live").hidden = !(status === "live" || (status === "ended" && board.seq > 0));
  listenButton.hidden = status !== "live" || !audioBlocked();
  if (panelRoot) panelRoot.hidden = status !== "live";
  const message = status === "ended" ? labels.ended : status === "cancelled" ? labels.cancelled : "";
  setText(notice, message);
  notice.hidden = !message;
  if (message && socket) socket.close();
}

function renderAudience(viewers) {
  if (config.role !== "viewer" && typeof viewers === "number") {
    setText(byId("audience"), format(labels.audience, { count: viewers }));
  }
}

// --- The board -------------------------------------------------------------------------------

function snapshot(event) {
  const fresh = board.seq === 0;
  // A fresh snapshot holds what the board shows now (strokes numbered as they began), not a run of the log.
  const events = fresh ? [...event.events].sort((a, b) => a.seq - b.seq) : event.events;
  board.batch(() => {
    for (const stored of events) if (fresh || stored.seq === board.seq + 1) board.apply(stored);
    board.seq = Math.max(board.seq, event.last_seq);
  });
  renderAudience(event.lecture.viewers);
  if (panel) panel.snapshot(event);
  renderStatus(event.lecture.status);
}

function frame(event) {
  // A number skipped means a frame was lost: the snapshot of a new connection brings everything after board.seq.
  if (!board.applyFrame(event.events)) socket.reconnect();
}

// --- The lecturer's voice --------------------------------------------------------------------

const hear = voicePlayback(listenButton, voiceNote);

// --- Connection ------------------------------------------------------------------------------

const over = status === "ended" || status === "cancelled";
const socket = over
  ? null
  : connect(() => `${config.socketPath}?after=${board.seq}`, {
      "lecture.snapshot": snapshot,
      "lecture.frame": frame,
      "lecture.status": (event) => renderStatus(event.lecture.status),
      "lecture.audience": (event) => renderAudience(event.viewers),
      ...(panel ? panel.handlers : {}),
      error: (event) => showError(event.message),
      binary: hear,
      connection: connectionNotice(byId("connection"), labels),
    });
renderStatus(status);
