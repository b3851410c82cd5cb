// The same-screen session room: the student (on a phone) watches the teacher (on a tablet or laptop) work
// the question on a shared board and hears them live; both can chat, and the student may draw or speak
// when the teacher allows it. After the end the student rates the session, the teacher corrects the
// question for the library and publishes the recording, and the recording can be replayed here.
//
// The server is the truth: every board and chat event is stored with a sequence number and relayed to
// both sides (the sender included). On every (re)connect the room's socket asks for the events after the
// last one this page has (`?after=`), and the snapshot brings them. Events that come early wait for the
// ones before them; a gap that stays open (a lost message) is filled the same way, by connecting again.

import { renderAttachments } from "./attachments.js";
import { liveAudioSupported, microphoneStart, voicePlayback } from "./audio.js";
import { Board, replayOnBoard } from "./board.js";
import { boardTools } from "./board-tools.js";
import { apiError, csrfToken, format, pageData, randomKey, setText, transientMessage, uploadForm } from "./page.js";
import { recordingSupported, setupRecorder } from "./recorder.js";
import { connect, connectionNotice } from "./ws.js";

const config = pageData("config");
const labels = pageData("labels");
const grades = pageData("grades");
const role = config.role;
const byId = (id) => document.getElementById(id);

const OUTBOX_LIMIT = 2000;
const UPLOAD_TIMEOUT_MS = 120_000;
const ERROR_SHOWN_MS = 5000;
// Two senders' events may be relayed out of order; one still missing after this long was lost.
const GAP_WAIT_MS = 1000;

const root = byId("session");
const toolbar = byId("toolbar");
const micButton = byId("mic");
const voiceNote = byId("voice");
const listenButton = byId("listen");
const chatList = byId("chat-list");

let session = null; // the room's state as the server last told it
let outbox = []; // board messages written while disconnected: sent after the next snapshot

// --- The board -------------------------------------------------------------------------------

function photoUrl(attachmentId) {
  const photo = session && session.question.attachments.find((attachment) => attachment.id === attachmentId);
  return photo ? photo.url : null;
}

function sendBoard(message) {
  if (socket.send(message) || message.type === "board.laser" || outbox.length >= OUTBOX_LIMIT) return;
  outbox.push(message);
}

let tools = null; // the drawing tools, once the board they work on exists
const board = new Board(byId("board"), { role, photoUrl, onMessage: sendBoard, onChange: () => tools?.render() });

/** Whether this user may draw ("student_draw") or speak ("student_speak") now; the teacher always may. */
function may(permission) {
  if (session === null || session.status !== "open") return false;
  return role === "teacher" || (role === "student" && session[permission]);
}

tools = boardTools(board, {
  mayDraw: () => may("student_draw"),
  pageLimit: () => session?.board.pages,
  labels,
  pages: role === "teacher",
  onApply: (tool) => {
    if (role === "teacher") byId("photo-panel").hidden = tool !== "photo" || !may("student_draw");
  },
  onRender: () => {
    const background = board.currentBackground;
    byId("photo-size").disabled = byId("photo-remove").disabled = !background;
    if (background) byId("photo-size").value = String(background.width);
  },
});

if (role === "teacher") {
  const size = byId("photo-size");
  size.addEventListener("input", () => board.moveBackground({ width: Number(size.value) }, false));
  size.addEventListener("change", () => board.moveBackground({ width: Number(size.value) }, true));
  byId("photo-remove").addEventListener("click", () => board.placeBackground(null));
  byId("allow-draw").addEventListener("click", () => setPermission({ student_draw: !session.student_draw }));
  byId("allow-speak").addEventListener("click", () => setPermission({ student_speak: !session.student_speak }));
  byId("end").addEventListener("click", () => {
    if (window.confirm(labels.confirmEnd) && !socket.send({ type: "session.end" })) showError(labels.notConnected);
  });
}

function renderPhotoChoices(question) {
  const photos = question.attachments.filter((attachment) => attachment.kind === "photo" && attachment.thumbnail_url);
  byId("photo-choices").replaceChildren(
    ...photos.map((photo, index) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "photo-choice";
      button.setAttribute("aria-label", format(labels.placePhoto, { number: index + 1 }));
      const image = document.createElement("img");
      image.src = photo.thumbnail_url;
      image.alt = "";
      button.append(image);
      button.addEventListener("click", () => board.placeBackground(photo.id));
      item.append(button);
      return item;
    }),
  );
}

function setPermission(changes) {
  sendBoard({
    v: 1,
    type: "board.permission",
    student_draw: session.student_draw,
    student_speak: session.student_speak,
    ...changes,
  });
}

function renderPermissions() {
  if (toolbar) toolbar.hidden = !may("student_draw");
  tools.apply();
  if (role === "teacher") {
    byId("allow-draw").setAttribute("aria-pressed", String(session.student_draw));
    byId("allow-speak").setAttribute("aria-pressed", String(session.student_speak));
  }
  if (!may("student_speak")) microphoneStop();
  renderMicrophone();
  if (role === "student") {
    const { student_draw: draw, student_speak: speak } = session;
    const note = draw ? (speak ? "mayDrawSpeak" : "mayDraw") : speak ? "maySpeak" : "watch";
    setText(voiceNote, session.status === "open" ? labels[note] : "");
  }
}

// --- Events from the room --------------------------------------------------------------------

function take(event) {
  if (event.seq <= board.seq) return;
  board.apply(event);
  if (event.type === "chat.message") addChat(event);
  else if (event.type === "board.permission") {
    session.student_draw = event.student_draw;
    session.student_speak = event.student_speak;
  }
}

const early = new Map(); // seq -> an event that came before one numbered lower
let gapTimer = null;

function stored(event) {
  if (typeof event.seq !== "number" || event.seq <= board.seq) return; // not stored, or seen already
  early.set(event.seq, event);
  for (let next = early.get(board.seq + 1); next; next = early.get(board.seq + 1)) {
    early.delete(next.seq);
    take(next);
    if (next.type === "board.permission") renderPermissions();
  }
  if (!early.size) {
    clearTimeout(gapTimer);
    gapTimer = null;
  } else if (gapTimer === null) {
    // Lost: connecting again brings everything after the last event in order (`?after=`).
    gapTimer = setTimeout(() => socket.reconnect(), GAP_WAIT_MS);
  }
}

function snapshot(event) {
  early.clear();
  clearTimeout(gapTimer);
  gapTimer = null;
  renderSession(event.session);
  board.batch(() => event.events.forEach(take));
  renderPermissions();
  tools.render();
  const queued = outbox;
  outbox = [];
  queued.forEach(sendBoard);
}

function renderSession(state) {
  const first = session === null;
  const ending = !first && session.status === "open" && state.status === "ended";
  session = state;
  root.dataset.status = state.status;
  setText(byId("session-title"), format(labels.title, { teacher: state.teacher_name, student: state.student_name }));
  renderPresence(state.presence);
  if (first) renderQuestion(state.question, state.knowledge_points);
  renderPermissions();
  if (state.status === "ended") renderEnded();
  if (ending) byId("ended-title").focus(); // brings the rating or the correction form into view
}

function renderPresence(presence) {
  const other = role === "teacher" ? "student" : "teacher";
  const present = Boolean(presence[other]);
  const box = byId("presence");
  box.dataset.present = String(present);
  setText(box, labels[`${other}${present ? "Here" : "Away"}`]);
}

function renderQuestion(question, knowledgePoints) {
  const subjectGrade = { subject: question.subject_name, grade: grades[question.grade] };
  setText(byId("question-subject"), format(labels.subjectGrade, subjectGrade));
  setText(byId("session-question-text"), question.text || labels.noText);
  renderAttachments({ photoList: byId("photos"), voiceBox: byId("voices") }, question.attachments, labels);
  if (role === "teacher") {
    renderPhotoChoices(question);
    byId("fix-text").value = question.text || "";
    // The teacher's earlier choice, else the points suggested for the question: to confirm or correct.
    byId("fix-points").value = (knowledgePoints || []).join("，");
  }
}

const showError = transientMessage(byId("session-error"), ERROR_SHOWN_MS);

function refused(event) {
  const chat = event.ref && pendingChats.get(event.ref);
  if (chat) {
    chat.dataset.state = "failed";
    pendingChats.delete(event.ref);
  } else if (event.ref) board.discard(event.ref); // a stroke of ours the server did not take
  showError(labels[`error_${event.code}`] || labels.error);
}

// --- Live voice ------------------------------------------------------------------------------

let microphone = null; // { stop() } while the microphone is on
let microphoneOpening = false;

function renderMicrophone() {
  if (!micButton) return;
  micButton.disabled = microphoneOpening || !may("student_speak") || !liveAudioSupported();
  micButton.setAttribute("aria-pressed", String(Boolean(microphone)));
  setText(micButton, microphone ? labels.micOn : labels.micOff);
}

async function microphoneToggle() {
  if (microphone) {
    microphoneStop();
    return;
  }
  microphoneOpening = true;
  renderMicrophone();
  try {
    microphone = await microphoneStart((frame) => socket.sendBinary(frame));
    if (!may("student_speak")) microphoneStop();
  } catch (error) {
    setText(voiceNote, error && error.name === "NotAllowedError" ? labels.micDenied : labels.micUnavailable);
  } finally {
    microphoneOpening = false;
    renderMicrophone();
  }
}

function microphoneStop() {
  if (microphone) microphone.stop();
  microphone = null;
  renderMicrophone();
}

if (micButton) micButton.addEventListener("click", microphoneToggle);

// --- Chat ------------------------------------------------------------------------------------

const pendingChats = new Map(); // ref -> the message shown until its echo comes back
const chatStatus = byId("chat-status");

function chatAttachment(attachment) {
  if (attachment.kind === "voice") {
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "none";
    audio.src = attachment.url;
    audio.setAttribute("aria-label", labels.voiceLabel);
    return audio;
  }
  const link = document.createElement("a");
  link.href = attachment.url;
  link.target = "_blank";
  link.rel = "noopener";
  const image = document.createElement("img");
  image.src = attachment.thumbnail_url || attachment.url;
  image.alt = labels.chatPhoto;
  image.decoding = "async";
  link.append(image);
  return link;
}

function chatItem(message) {
  const item = document.createElement("li");
  item.className = "chat-message";
  item.dataset.own = String(message.by === role);
  const author = document.createElement("p");
  author.className = "chat-author";
  author.textContent = message.by === role ? labels.me : session[`${message.by}_name`];
  item.append(author);
  if (message.text) {
    const text = document.createElement("p");
    text.className = "chat-text";
    text.textContent = message.text;
    item.append(text);
  }
  if (message.attachment) item.append(chatAttachment(message.attachment));
  return item;
}

function showChat(item, replacing) {
  if (replacing) replacing.replaceWith(item);
  else chatList.append(item);
  byId("chat-empty").hidden = true;
  chatList.scrollTop = chatList.scrollHeight;
}

function addChat(event) {
  const pending = event.ref ? pendingChats.get(event.ref) : null;
  pendingChats.delete(event.ref);
  showChat(chatItem(event), pending);
}

/** Send a chat message: text, or an uploaded attachment ({id, kind, url, ...}) with text "". */
function sendChat(text, attachment = null) {
  const ref = `c${randomKey().slice(0, 20)}`;
  const message = { v: 1, type: "chat.message", ref, text };
  if (attachment) message.attachment = attachment.id;
  if (!socket.send(message)) {
    setText(chatStatus, labels.notConnected);
    return false;
  }
  const item = chatItem({ by: role, text, attachment });
  item.dataset.state = "pending";
  pendingChats.set(ref, item);
  showChat(item, null);
  return true;
}

function upload(file, filename) {
  const form = new FormData();
  form.append("file", file, filename);
  setText(chatStatus, labels.uploading);
  uploadForm(`${config.apiUrl}attachments`, form, {
    timeout: UPLOAD_TIMEOUT_MS,
    onProgress: (percent) => setText(chatStatus, format(labels.uploadingProgress, { percent })),
    onLoad: (status, body) => {
      const error = status === 201 ? null : apiError(body);
      setText(chatStatus, status === 201 ? "" : (error && error.message) || labels.uploadError);
      if (status === 201) sendChat("", body);
    },
    onFailed: () => setText(chatStatus, labels.uploadError),
  });
}

const chatForm = byId("chat-form");
if (chatForm) {
  const chatText = byId("chat-text");
  chatForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = chatText.value.trim();
    if (!text) return;
    setText(chatStatus, "");
    if (sendChat(text)) chatText.value = "";
  });
  const photoInput = byId("chat-photo");
  photoInput.addEventListener("change", () => {
    const file = photoInput.files && photoInput.files[0];
    photoInput.value = "";
    if (!file) return;
    if (file.size > config.maxPhotoBytes) setText(chatStatus, labels.photoTooLarge);
    else upload(file, file.name);
  });
  const recordButton = byId("chat-record");
  if (recordingSupported()) {
    const recorder = setupRecorder({
      button: recordButton,
      buttonText: byId("chat-record-text"),
      timer: byId("chat-record-timer"),
      clipBox: byId("chat-clip"),
      status: chatStatus,
      labels,
      maxSeconds: config.maxVoiceSeconds,
      onChange: (clip) => {
        if (!clip) return;
        recorder.clear();
        upload(clip.blob, clip.filename);
      },
    });
  } else recordButton.hidden = true;
}

// --- After the end ---------------------------------------------------------------------------

/** A JSON request to the session's API; throws an Error with a message to show. */
async function request(method, url, body) {
  let response;
  try {
    response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new Error(labels.networkError);
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = apiError(data);
    throw new Error(error ? error.message : labels.networkError);
  }
  return data;
}

function renderEnded() {
  byId("ended").hidden = false;
  microphoneStop();
  for (const id of ["controls", "chat-compose"]) if (byId(id)) byId(id).hidden = true;
  setText(byId("ended-text"), session.ended_reason === "abandoned" ? labels.endedAbandoned : labels.ended);
  if (role === "student") renderRating(session.rating);
  loadRecording();
}

function renderRating(rating) {
  byId("rating-form").hidden = Boolean(rating);
  byId("rating-done").hidden = !rating;
  if (rating) setText(byId("rating-done"), format(labels.rated, { score: rating.score }));
}

if (role === "student") {
  const form = byId("rating-form");
  const stars = form.querySelectorAll(".star");
  form.addEventListener("change", () => {
    const score = Number(new FormData(form).get("score"));
    stars.forEach((star, index) => star.classList.toggle("is-lit", index < score));
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const score = Number(new FormData(form).get("score"));
    const error = byId("rating-error");
    setText(error, score ? "" : labels.chooseScore);
    if (!score) return;
    try {
      const comment = byId("rating-comment").value.trim();
      renderRating(await request("POST", `${config.apiUrl}rating`, { score, comment }));
    } catch (failure) {
      setText(error, failure.message);
    }
  });
}

if (role === "teacher") {
  const form = byId("correction-form");
  const status = byId("correction-status");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.dataset.state = "saving";
    setText(status, labels.saving);
    const points = byId("fix-points").value.split(/[,，、;；]/).map((point) => point.trim()).filter(Boolean);
    try {
      await request("PATCH", `${config.apiUrl}question`, {
        text: byId("fix-text").value.trim(),
        subject: byId("fix-subject").value,
        grade: Number(byId("fix-grade").value),
        knowledge_points: points,
      });
      status.dataset.state = "saved";
      setText(status, labels.saved);
    } catch (failure) {
      status.dataset.state = "error";
      setText(status, failure.message);
    }
  });
  byId("recording-approve").addEventListener("click", async () => {
    try {
      renderRecording(await request("POST", `${config.apiUrl}recording/approve`));
    } catch (failure) {
      setText(byId("recording-error"), failure.message);
    }
  });
}

async function loadRecording() {
  try {
    renderRecording(await request("GET", `${config.apiUrl}recording`));
  } catch {
    // Not made yet, or offline: the room tells this page when its status changes.
  }
}

let replayShown = false;

function renderRecording(recording) {
  const section = byId("recording");
  section.hidden = false;
  section.dataset.status = recording.status;
  setText(byId("recording-status"), labels[`recording_${recording.status}`] || recording.status);
  if (role === "teacher") byId("recording-approve").hidden = recording.status !== "awaiting_approval";
  if (recording.status === "published" && !replayShown) showReplay(recording);
}

async function showReplay(recording) {
  replayShown = true;
  let log;
  try {
    log = await request("GET", recording.events_url);
  } catch (failure) {
    replayShown = false;
    setText(byId("recording-error"), failure.message);
    return;
  }
  byId("replay-video").href = recording.video_url;
  byId("replay-poster").src = recording.poster_url;
  const audio = byId("replay-audio");
  audio.src = recording.audio_url;
  byId("replay").hidden = false;
  replayOnBoard(new Board(byId("replay-board"), { photoUrl, replay: true }), audio, log.events);
}

// --- Connection ------------------------------------------------------------------------------

const hear = voicePlayback(listenButton, voiceNote);

const socket = connect(() => `${config.socketPath}?after=${board.seq}`, {
  "session.snapshot": snapshot,
  "session.presence": (event) => renderPresence(event.presence),
  "session.ended": (event) => renderSession(event.session),
  "session.recording": (event) => renderRecording(event.recording),
  error: refused,
  binary: hear,
  connection: connectionNotice(byId("connection"), labels),
  default: stored,
});
