// The on-duty teacher's console: go on and off duty, see offered questions with a countdown, accept or
// decline them, and finish the students being answered. The server sends the whole state on every
// (re)connect (duty.snapshot) and then every change; this page only draws it and sends the teacher's taps.

import { renderAttachments } from "./attachments.js";
import { format, pageData, setText } from "./page.js";
import { connect, connectionNotice } from "./ws.js";

const config = pageData("config");
const labels = pageData("labels");
const grades = pageData("grades");

const statusText = document.getElementById("duty-status");
const detailText = document.getElementById("duty-detail");
const toggle = document.getElementById("duty-toggle");
const dutyError = document.getElementById("duty-error");
const volunteerBox = document.getElementById("volunteer");
const volunteerSubject = document.getElementById("volunteer-subject");
const volunteerBand = document.getElementById("volunteer-band");
const offerList = document.getElementById("offers");
const ticketList = document.getElementById("tickets");
const shiftList = document.getElementById("shifts");
const connectionBox = document.getElementById("connection");

let duty = null;
let heartbeat = null;
const offers = new Map(); // offer id -> { offer, deadline, element }
let audio = null;

function when(iso) {
  return new Date(iso).toLocaleString(document.documentElement.lang, {
    month: "numeric",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

// --- Duty state ------------------------------------------------------------------------------

function renderDuty(state) {
  duty = state;
  statusText.dataset.onDuty = String(state.on_duty);
  let status = labels.offDuty;
  if (state.on_duty) status = format(labels.onDuty, { subject: state.subject_name, band: state.grade_band_name });
  else if (state.available) status = labels.waitingForShift;
  setText(statusText, status);
  setText(detailText, state.on_duty ? format(labels.load, { load: state.load, capacity: state.capacity }) : "");
  toggle.disabled = false;
  toggle.setAttribute("aria-pressed", String(state.available));
  setText(toggle, state.available ? labels.goOff : labels.goOn);
}

function renderVolunteer(snapshot) {
  volunteerBox.hidden = !snapshot.volunteers;
  if (!snapshot.volunteers) return;
  volunteerSubject.replaceChildren(...snapshot.subjects.map((s) => new Option(s.name, s.code)));
  volunteerBand.replaceChildren(...snapshot.grade_bands.map((b) => new Option(b.name, b.code)));
}

toggle.addEventListener("click", () => {
  unlockSound();
  setText(dutyError, "");
  const message = { type: "duty.available", available: !(duty && duty.available) };
  if (message.available && !volunteerBox.hidden) {
    message.subject = volunteerSubject.value;
    message.grade_band = volunteerBand.value;
  }
  if (!socket.send(message)) setText(dutyError, labels.notConnected);
});

// --- Offers ----------------------------------------------------------------------------------

function questionBlock(question) {
  const block = document.createElement("div");
  const head = document.createElement("p");
  head.className = "question-item-subject";
  head.textContent = format(labels.subjectGrade, { subject: question.subject_name, grade: grades[question.grade] });
  const text = document.createElement("p");
  text.className = "board-text";
  text.textContent = question.text || labels.noText;
  const photos = document.createElement("ul");
  photos.className = "photos";
  const voices = document.createElement("div");
  voices.className = "voices";
  renderAttachments({ photoList: photos, voiceBox: voices }, question.attachments || [], labels);
  block.append(head, text, photos, voices);
  return block;
}

function button(label, className, onClick, testId) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = `button ${className}`;
  element.textContent = label;
  element.dataset.testid = testId;
  element.addEventListener("click", onClick);
  return element;
}

function addOffer(offer, reference) {
  if (offers.has(offer.id)) return;
  const deadline = Date.now() + (Date.parse(offer.expires_at) - Date.parse(reference));
  const item = document.createElement("li");
  item.className = "card offer";
  item.dataset.testid = "offer";
  const countdown = document.createElement("p");
  countdown.className = "offer-countdown";
  countdown.setAttribute("aria-live", "off");
  const actions = document.createElement("div");
  actions.className = "feedback-buttons";
  actions.append(
    button(labels.accept, "button-primary", () => answer("offer.accept", offer.id), "accept"),
    button(labels.decline, "button-secondary", () => answer("offer.decline", offer.id), "decline"),
  );
  const error = document.createElement("p");
  error.className = "field-error";
  error.setAttribute("role", "alert");
  item.append(countdown, questionBlock(offer.question), actions, error);
  offers.set(offer.id, { offer, deadline, element: item, countdown, error });
  offerList.append(item);
  tick();
  refreshEmpty();
}

function removeOffer(offerId) {
  const entry = offers.get(offerId);
  if (!entry) return;
  entry.element.remove();
  offers.delete(offerId);
  refreshEmpty();
}

function answer(type, offerId) {
  const entry = offers.get(offerId);
  if (!socket.send({ type, offer_id: offerId }) && entry) setText(entry.error, labels.notConnected);
}

function tick() {
  for (const [id, entry] of offers) {
    const seconds = Math.ceil((entry.deadline - Date.now()) / 1000);
    if (seconds <= 0) removeOffer(id);
    else setText(entry.countdown, format(labels.countdown, { seconds }));
  }
}
setInterval(tick, 1000);

// --- Students being answered -----------------------------------------------------------------

function renderTickets(tickets) {
  ticketList.replaceChildren(
    ...tickets.map((ticket) => {
      const item = document.createElement("li");
      item.className = "card offer";
      item.dataset.testid = "ticket";
      item.dataset.id = String(ticket.id);
      const since = document.createElement("p");
      since.className = "muted";
      since.textContent = format(labels.since, { time: when(ticket.assigned_at) });
      const actions = document.createElement("div");
      actions.className = "button-row";
      if (ticket.session_id) actions.append(sessionLink(ticket.session_id));
      actions.append(
        button(labels.finish, "button-success", () => socket.send({ type: "ticket.finish", ticket_id: ticket.id }), "finish"),
      );
      item.append(since, questionBlock(ticket.question), actions);
      return item;
    }),
  );
  refreshEmpty();
}

let tickets = [];

// The room opens in a tab of its own, so that this console stays connected (and on duty) meanwhile.
function sessionLink(sessionId) {
  const link = document.createElement("a");
  link.className = "button button-primary";
  link.href = config.sessionUrl.replace("{id}", sessionId);
  link.target = `session-${sessionId}`;
  link.textContent = labels.enterSession;
  link.dataset.testid = "enter-session";
  return link;
}

// Just after the teacher's tap on Accept the browser still lets the page open a tab; if it does not, the
// ticket's link is there.
function openSession(event) {
  const opened = (ticket) => ticket.id === event.ticket_id;
  tickets = tickets.map((ticket) => (opened(ticket) ? { ...ticket, session_id: event.session_id } : ticket));
  renderTickets(tickets);
  window.open(event.url, `session-${event.session_id}`);
}

function renderShifts(shifts) {
  shiftList.replaceChildren(
    ...shifts.map((shift) => {
      const item = document.createElement("li");
      item.textContent = format(labels.shift, {
        start: when(shift.starts_at),
        end: when(shift.ends_at),
        subject: shift.subject_name,
        band: shift.grade_band_name,
        capacity: shift.capacity,
      });
      return item;
    }),
  );
  document.getElementById("shifts-empty").hidden = shifts.length > 0;
}

function refreshEmpty() {
  document.getElementById("offers-empty").hidden = offers.size > 0;
  document.getElementById("tickets-empty").hidden = ticketList.children.length > 0;
}

// --- Sound: a short chime when an offer arrives (browsers allow audio after a tap) ------------

function unlockSound() {
  if (!audio && window.AudioContext) audio = new AudioContext();
}

function chime() {
  if (!audio) return;
  const oscillator = audio.createOscillator();
  const gain = audio.createGain();
  oscillator.frequency.value = 880;
  gain.gain.setValueAtTime(0.2, audio.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
  oscillator.connect(gain).connect(audio.destination);
  oscillator.start();
  oscillator.stop(audio.currentTime + 0.4);
}

// --- Connection ------------------------------------------------------------------------------

const showConnection = connectionNotice(connectionBox, labels);

const socket = connect(config.socketPath, {
  "duty.snapshot": (event) => {
    renderDuty(event.duty);
    renderVolunteer(event);
    renderShifts(event.shifts);
    for (const id of [...offers.keys()]) removeOffer(id);
    const now = new Date().toISOString();
    for (const offer of event.offers) addOffer(offer, event.now || now);
    tickets = event.tickets;
    renderTickets(tickets);
    clearInterval(heartbeat);
    heartbeat = setInterval(() => socket.send({ type: "duty.heartbeat" }), event.heartbeat_seconds * 1000);
  },
  "duty.state": (event) => renderDuty(event.duty),
  "offer.created": (event) => {
    addOffer(event.offer, event.offer.created_at);
    chime();
  },
  "offer.closed": (event) => removeOffer(event.offer_id),
  "ticket.assigned": (event) => {
    tickets = [...tickets.filter((t) => t.id !== event.ticket.id), event.ticket];
    renderTickets(tickets);
  },
  "session.opened": openSession,
  "ticket.finished": (event) => {
    tickets = tickets.filter((t) => t.id !== event.ticket_id);
    renderTickets(tickets);
  },
  error: (event) => {
    const entry = event.offer_id ? offers.get(event.offer_id) : null;
    if (entry) {
      setText(entry.error, event.message);
      if (event.code === "offer_closed") setTimeout(() => removeOffer(event.offer_id), 2000);
    } else setText(dutyError, event.message);
  },
  connection: (change) => {
    showConnection(change);
    if (change.state !== "open") {
      clearInterval(heartbeat);
      heartbeat = null;
    }
  },
});
