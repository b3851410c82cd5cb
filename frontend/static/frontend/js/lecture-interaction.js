// The interaction of a lecture, beside its board: the students' questions (asked, upvoted, pinned), and the
// quick check (a poll). `viewerPanel` is a student's (ask, upvote, answer), `moderationPanel` the lecturer's
// and the moderators' (rank, answer, pin, hide; open and close a quick check with its live distribution).
//
// The lecture socket sends the state whole: `interaction` (the pinned and the top questions, the quick check,
// its distribution once closed) to everyone and `moderation` (every question, the live distribution) to the
// lecturer and the moderators, in the snapshot and whenever it changes. A student's own part (`mine`: their
// upvotes and their answer) comes in the snapshot and with the replies to what they send.
//
// A question may go with a photo: the page uploads it first (POST, checked and processed like a question's photo
// at intake), then asks with its id. A question's photo shows as a thumbnail that opens it large.

import { apiError, format, setText, uploadForm } from "./page.js";

const PHOTO_UPLOAD_TIMEOUT_MS = 120_000;

function element(tag, { className, text, attributes = {} } = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function button(text, className, onClick, attributes = {}) {
  const node = element("button", { className: `button ${className}`, text, attributes: { type: "button", ...attributes } });
  node.addEventListener("click", onClick);
  return node;
}

/** The distribution of a quick check as labelled bars (option or number, count, share). */
function distribution(poll, labels) {
  const list = element("ul", { className: "poll-results", attributes: { "data-testid": "poll-results" } });
  const rows =
    poll.kind === "choice" ? poll.options.map((option, index) => [option, poll.counts[index]]) : poll.counts;
  for (const [label, count] of rows) {
    const share = poll.answers ? Math.round((count / poll.answers) * 100) : 0;
    const row = element("li", { className: "poll-result" });
    row.append(element("span", { text: label }), element("span", { className: "muted", text: format(labels.pollCount, { count, share }) }));
    const bar = element("span", { className: "poll-bar", attributes: { "aria-hidden": "true" } });
    bar.style.setProperty("--share", `${share}%`);
    row.append(bar);
    list.append(row);
  }
  list.append(element("li", { className: "muted", text: format(labels.pollAnswers, { count: poll.answers }) }));
  return list;
}

function questionText(question, labels) {
  const text = element("p", { className: "lecture-question-text", text: question.text });
  if (question.status === "answered") text.append(" ", element("span", { className: "badge", text: labels.answered }));
  return text;
}

/** A dialog that shows a question's photo large, made once for the page; returns `open(url)`. */
function photoViewer(labels) {
  const dialog = element("dialog", { className: "photo-viewer", attributes: { "aria-label": labels.photoLarge, "data-testid": "photo-viewer" } });
  const image = element("img", { attributes: { alt: labels.photoLarge } });
  dialog.append(image, button(labels.photoClose, "button-secondary", () => dialog.close()));
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a tap beside the photo
  });
  dialog.addEventListener("close", () => image.removeAttribute("src"));
  document.body.append(dialog);
  return (url) => {
    image.src = url;
    dialog.showModal();
  };
}

/** The thumbnail of a question's photo, a button that opens it large; null for a question without one. */
function questionPhoto(question, labels, open) {
  if (!question.photo) return null;
  const thumbnail = element("button", {
    className: "lecture-question-photo",
    attributes: { type: "button", "aria-label": labels.photoOpen, "data-testid": "question-photo" },
  });
  thumbnail.append(element("img", { attributes: { src: question.photo.thumbnail_url, alt: "", decoding: "async" } }));
  thumbnail.addEventListener("click", () => open(question.photo.url));
  return thumbnail;
}

/**
 * A student's side: `send(message)` returns false when the socket is down; `showError(message)`;
 * `onStage(mode)` when the lecturer invites this student to "speak" or "draw", and with null when the turn ends;
 * `photos`: where a photo to ask with is uploaded (`url`) and its largest size (`maxBytes`).
 */
export function viewerPanel(root, { send, labels, showError, onStage, photos }) {
  const pinned = root.querySelector("[data-pinned]");
  const handButton = root.querySelector("[data-hand]");
  const handNote = root.querySelector("[data-hand-note]");
  const pollBox = root.querySelector("[data-poll]");
  const list = root.querySelector("[data-questions]");
  const form = root.querySelector("[data-ask]");
  const text = form.querySelector("textarea");
  const askNote = root.querySelector("[data-ask-note]");
  const askButton = form.querySelector("[type=submit]");
  const photoInput = form.querySelector("input[type=file]");
  const photoName = document.getElementById(photoInput.dataset.fileName);
  const preview = form.querySelector("[data-ask-preview]");
  const openPhoto = photoViewer(labels);
  const chatBox = root.querySelector("[data-chat]");
  const chatList = root.querySelector("[data-chat-messages]");
  const chatForm = root.querySelector("[data-chat-form]");
  const chatText = chatForm.querySelector("input");
  let state = { chat: { open: false, messages: [] }, stage: null, pinned: null, questions: [], poll: null };
  let mine = { hand: null, upvoted: [], answered: null };
  let onStageNow = null; // the mode this student was last told they are invited to
  let photo = null; // the photo for the next question: { file, preview (a local URL), id once uploaded }

  function sent(message) {
    if (!send(message)) showError(labels.notConnected);
  }

  function renderHand() {
    let hand = mine.hand;
    const stage = state.stage && hand && state.stage.hand === hand.id ? state.stage.mode : null;
    if (stage) hand.status = "invited";
    else if (hand && hand.status === "invited") mine.hand = hand = null; // the turn is over
    handButton.setAttribute("aria-pressed", String(Boolean(hand)));
    setText(handButton, hand ? (stage ? labels.handDone : labels.handLower) : labels.handRaise);
    setText(handNote, stage ? labels[`invited_${stage}`] : hand ? labels.handWaiting : "");
    if (stage !== onStageNow) {
      onStageNow = stage;
      onStage(stage);
    }
  }

  function renderPinned() {
    pinned.hidden = !state.pinned;
    pinned.replaceChildren();
    if (!state.pinned) return;
    pinned.append(element("strong", { text: labels.pinned }), questionText(state.pinned, labels));
    const thumbnail = questionPhoto(state.pinned, labels, openPhoto);
    if (thumbnail) pinned.append(thumbnail);
  }

  function renderQuestions() {
    const items = state.questions.map((question) => {
      const item = element("li", { className: "lecture-question", attributes: { "data-question": question.id } });
      const upvoted = mine.upvoted.includes(question.id);
      const vote = button(format(labels.upvote, { count: question.upvotes }), "button-secondary upvote", () =>
        sent({ type: "question.upvote", question: question.id }),
      );
      vote.setAttribute("aria-pressed", String(upvoted));
      vote.disabled = upvoted;
      const thumbnail = questionPhoto(question, labels, openPhoto);
      item.append(questionText(question, labels), ...(thumbnail ? [thumbnail] : []), vote);
      return item;
    });
    list.replaceChildren(...items);
    if (!items.length) list.append(element("li", { className: "muted", text: labels.noQuestions }));
  }

  function renderPoll() {
    const poll = state.poll;
    pollBox.hidden = !poll;
    pollBox.replaceChildren();
    if (!poll) return;
    pollBox.append(element("h3", { text: poll.status === "open" ? labels.pollOpen : labels.pollClosed }));
    if (poll.prompt) pollBox.append(element("p", { className: "poll-prompt", text: poll.prompt }));
    const answer = mine.answered && mine.answered.poll === poll.id ? mine.answered : null;
    if (poll.status === "closed") {
      pollBox.append(distribution(poll, labels));
    } else if (answer) {
      const given = poll.kind === "choice" ? poll.options[answer.choice] : answer.number;
      pollBox.append(element("p", { className: "message", text: format(labels.pollAnswered, { answer: given }) }));
    } else if (poll.kind === "choice") {
      const options = element("div", { className: "poll-options" });
      poll.options.forEach((option, index) =>
        options.append(button(option, "button-secondary", () => sent({ type: "poll.answer", poll: poll.id, answer: index }))),
      );
      pollBox.append(options);
    } else {
      const numberForm = element("form", { className: "poll-number" });
      const input = element("input", {
        attributes: { type: "text", inputmode: "decimal", "aria-label": labels.pollNumber, maxlength: "24", required: "" },
      });
      numberForm.append(input, element("button", { className: "button button-primary", text: labels.pollSend, attributes: { type: "submit" } }));
      numberForm.addEventListener("submit", (event) => {
        event.preventDefault();
        sent({ type: "poll.answer", poll: poll.id, answer: input.value.trim() });
      });
      pollBox.append(numberForm);
    }
  }

  function renderChat() {
    chatBox.hidden = !state.chat.open;
    chatList.replaceChildren(
      ...state.chat.messages.map((message) => element("li", { className: "lecture-question-text", text: message.text })),
    );
  }

  function render() {
    renderChat();
    renderHand();
    renderPinned();
    renderQuestions();
    renderPoll();
  }

  handButton.addEventListener("click", () => sent({ type: mine.hand ? "hand.lower" : "hand.raise" }));
  chatForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (chatText.value.trim()) sent({ type: "chat.send", text: chatText.value.trim() });
  });

  function photoSet(file) {
    if (photo) URL.revokeObjectURL(photo.preview);
    photo = file ? { file, preview: URL.createObjectURL(file), id: null } : null;
    preview.hidden = !photo;
    const image = preview.querySelector("img");
    if (photo) image.src = photo.preview;
    else image.removeAttribute("src");
    setText(photoName, photo ? file.name : labels.noFile);
  }

  photoInput.addEventListener("change", () => {
    const file = photoInput.files[0];
    photoInput.value = "";
    if (!file) return;
    if (file.size > photos.maxBytes) showError(labels.photoTooLarge);
    else photoSet(file);
  });
  preview.querySelector("[data-ask-photo-remove]").addEventListener("click", () => photoSet(null));

  function ask(question) {
    sent({ type: "question.ask", text: question, ...(photo ? { photo: photo.id } : {}) });
  }

  /** Upload the chosen photo, then ask with it; an uploaded one is kept for another try if the asking fails. */
  function askWithPhoto(question) {
    const uploading = photo;
    const body = new FormData();
    body.append("photo", uploading.file, uploading.file.name);
    askButton.disabled = true;
    const done = (error) => {
      askButton.disabled = false;
      setText(askNote, "");
      if (error) showError(error);
    };
    uploadForm(photos.url, body, {
      timeout: PHOTO_UPLOAD_TIMEOUT_MS,
      onProgress: (percent) => setText(askNote, format(labels.photoSending, { percent })),
      onLoad: (status, answer) => {
        if (status !== 201) {
          done(apiError(answer)?.message || labels.photoNotSent);
          return;
        }
        done(null);
        uploading.id = answer.id;
        if (photo === uploading) ask(question); // not removed meanwhile
      },
      onFailed: () => done(labels.photoNotSent),
    });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = text.value.trim();
    if (!question) {
      showError(labels.emptyQuestion);
      return;
    }
    if (photo && photo.id === null) askWithPhoto(question);
    else ask(question);
  });

  return {
    snapshot(event) {
      state = event.interaction;
      if (event.mine) mine = event.mine;
      render();
    },
    handlers: {
      "lecture.interaction": (event) => {
        state = event;
        render();
      },
      "question.asked": () => {
        text.value = "";
        photoSet(null);
        setText(askNote, labels.asked);
      },
      "question.upvoted": (event) => {
        if (!mine.upvoted.includes(event.question.id)) mine.upvoted.push(event.question.id);
        state.questions = state.questions.map((question) => (question.id === event.question.id ? event.question : question));
        renderQuestions();
      },
      "poll.answered": (event) => {
        mine.answered = { poll: event.poll, choice: event.choice, number: event.number };
        renderPoll();
      },
      "chat.sent": () => {
        chatText.value = "";
      },
      "hand.raised": (event) => {
        mine.hand = event.hand;
        renderHand();
      },
      "hand.lowered": () => {
        mine.hand = null;
        renderHand();
      },
    },
  };
}

/** The lecturer's and the moderators' side. */
export function moderationPanel(root, { send, labels, showError }) {
  const list = root.querySelector("[data-moderated]");
  const pollBox = root.querySelector("[data-poll-live]");
  const pollForm = root.querySelector("[data-poll-form]");
  const handList = root.querySelector("[data-hands]");
  const chatSwitch = root.querySelector("[data-chat-switch]");
  const openPhoto = photoViewer(labels);
  let state = { hands: [], raised: 0, chat_open: false, pinned: null, questions: [], poll: null };

  function renderChatSwitch() {
    chatSwitch.setAttribute("aria-pressed", String(state.chat_open));
    setText(chatSwitch, state.chat_open ? labels.chatOff : labels.chatOn);
  }

  chatSwitch.addEventListener("click", () => sent({ type: "chat.switch", open: !state.chat_open }));

  function sent(message) {
    if (!send(message)) showError(labels.notConnected);
  }

  function renderQuestions() {
    const items = state.questions.map((question) => {
      const item = element("li", {
        className: "lecture-question",
        attributes: { "data-question": question.id, "data-status": question.status },
      });
      const head = questionText(question, labels);
      head.prepend(element("span", { className: "badge", text: format(labels.upvotes, { count: question.upvotes }) }), " ");
      if (question.status === "hidden") head.append(" ", element("span", { className: "badge", text: labels.hidden }));
      const actions = element("div", { className: "lecture-question-actions" });
      const act = (action) => () => sent({ type: `question.${action}`, question: question.id });
      if (question.status === "open") actions.append(button(labels.markAnswered, "button-secondary", act("answer")));
      if (question.status !== "hidden") {
        const pinnedHere = state.pinned === question.id;
        actions.append(button(pinnedHere ? labels.unpin : labels.pin, "button-secondary", act(pinnedHere ? "unpin" : "pin")));
        actions.append(button(labels.hide, "button-danger", act("hide")));
      }
      const thumbnail = questionPhoto(question, labels, openPhoto);
      item.append(head, ...(thumbnail ? [thumbnail] : []), actions);
      return item;
    });
    list.replaceChildren(...items);
    if (!items.length) list.append(element("li", { className: "muted", text: labels.noQuestions }));
  }

  function renderHands() {
    setText(root.querySelector("[data-raised]"), format(labels.raised, { count: state.raised }));
    const items = state.hands.map((hand) => {
      const item = element("li", { className: "lecture-question", attributes: { "data-hand": hand.id } });
      const name = element("p", { className: "lecture-question-text", text: hand.name });
      if (hand.status === "invited") name.append(" ", element("span", { className: "badge", text: labels[`invited_${hand.mode}_badge`] }));
      const actions = element("div", { className: "lecture-question-actions" });
      const invite = (mode) => () => sent({ type: "hand.invite", hand: hand.id, mode });
      if (hand.status === "raised") {
        actions.append(button(labels.inviteSpeak, "button-secondary", invite("speak")));
        actions.append(button(labels.inviteDraw, "button-secondary", invite("draw")));
      }
      actions.append(button(hand.status === "invited" ? labels.takeBack : labels.turnDown, "button-danger", () => sent({ type: "hand.end", hand: hand.id })));
      item.append(name, actions);
      return item;
    });
    handList.replaceChildren(...items);
  }

  function renderPoll() {
    const poll = state.poll;
    pollBox.replaceChildren();
    pollForm.hidden = Boolean(poll && poll.status === "open");
    if (!poll) return;
    pollBox.append(element("h3", { text: poll.status === "open" ? labels.pollOpen : labels.pollClosed }));
    if (poll.prompt) pollBox.append(element("p", { className: "poll-prompt", text: poll.prompt }));
    pollBox.append(distribution(poll, labels));
    if (poll.status === "open") pollBox.append(button(labels.pollClose, "button-primary", () => sent({ type: "poll.close", poll: poll.id })));
  }

  const kind = pollForm.querySelector("select");
  const optionsBox = pollForm.querySelector("[data-poll-options]");
  const renderKind = () => (optionsBox.hidden = kind.value !== "choice");
  kind.addEventListener("change", renderKind);
  renderKind();
  pollForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const options = [...optionsBox.querySelectorAll("input")].map((input) => input.value.trim()).filter(Boolean);
    const prompt = pollForm.querySelector("[name=prompt]").value.trim();
    sent({ type: "poll.open", kind: kind.value, prompt, options: kind.value === "choice" ? options : [] });
  });

  return {
    snapshot(event) {
      state = event.moderation;
      renderChatSwitch();
      renderHands();
      renderQuestions();
      renderPoll();
    },
    handlers: {
      "lecture.moderation": (event) => {
        state = event;
        renderChatSwitch();
        renderHands();
        renderQuestions();
        renderPoll();
      },
      "poll.opened": () => pollForm.reset(),
    },
  };
}
