// Answered questions from the library offered for a question: the same question (its video
// and/or worked solution), related ones, and the student's verdict, "Solved" or "Still stuck".
//
//   const renderMatches = setupMatches({ config, labels, grades, onQuestion: render });
//   renderMatches(question); // on every state from the server
//
// Cards are keyed by their library entry, so a later event (or a new match after the student
// corrected the text) leaves a playing video and an opened solution alone.

import { apiError, csrfToken, format, setText } from "./page.js";

// Statuses with matches to show: being matched, or matched (and maybe judged by the student).
const MATCHED_STATUSES = new Set(["understood", "resolved", "waiting_teacher"]);
const JUDGED = new Set(["same", "similar"]);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** 95.4 -> "1:35" */
function clock(seconds) {
  const total = Math.round(seconds);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}

export function setupMatches({ config, labels, grades, onQuestion }) {
  const section = document.getElementById("matches");
  const statusBox = document.getElementById("matches-status");
  const statusText = document.getElementById("matches-status-text");
  const statusDetail = document.getElementById("matches-status-detail");
  const mainBox = document.getElementById("match-main");
  const feedback = document.getElementById("feedback");
  const feedbackResult = document.getElementById("feedback-result");
  const feedbackError = document.getElementById("feedback-error");
  const relatedSection = document.getElementById("related");
  const relatedList = document.getElementById("related-list");
  const buttons = Array.from(feedback.querySelectorAll("button[data-choice]"));

  let matches = []; // of the last state shown
  let mainMatch = null;
  let viewedEntry = null; // the entry whose answer the student opened or played last
  let sending = false;

  // --- Building cards -------------------------------------------------------------------------

  function meta(entry) {
    const grade = grades[String(entry.grade)] || String(entry.grade);
    return format(labels.subjectGrade, { subject: entry.subject_name, grade });
  }

  function knowledgePoints(entry) {
    const points = (entry.knowledge_points || []).filter(Boolean);
    if (!points.length) return null;
    const list = element("ul", "chips");
    list.setAttribute("aria-label", labels.knowledgePoints);
    for (const point of points) list.append(element("li", "chip", point));
    return list;
  }

  function videoFigure(answer) {
    const caption = answer.duration_seconds
      ? format(labels.videoAnswerDuration, { duration: clock(answer.duration_seconds) })
      : labels.videoAnswer;
    const figure = element("figure", "answer-video");
    const video = document.createElement("video");
    video.controls = true;
    video.preload = "none";
    video.playsInline = true;
    video.setAttribute("playsinline", "");
    video.setAttribute("webkit-playsinline", "");
    if (answer.poster_url) video.poster = answer.poster_url;
    video.src = answer.video_url;
    video.setAttribute("aria-label", caption);
    video.dataset.testid = "answer-video";
    figure.append(video, element("figcaption", "answer-caption", caption));
    return figure;
  }

  function solutionText(answer) {
    const text = element("div", "solution-text", answer.solution);
    text.dataset.testid = "solution";
    return text;
  }

  /**
   * The answers of an entry: videos first, then the worked solution. `collapsible`: the solution
   * is a disclosure, open at first only when there is no video to watch.
   */
  function answers(entry, { collapsible }) {
    const box = element("div", "answers");
    const ready = (entry.answers || []).filter((answer) => answer.status === "ready");
    const videos = ready.filter((answer) => answer.kind === "video" && answer.video_url);
    const solutions = ready.filter((answer) => answer.kind === "solution" && answer.solution);
    for (const answer of videos) box.append(videoFigure(answer));
    for (const answer of solutions) {
      if (collapsible) {
        const details = element("details", "solution");
        details.open = videos.length === 0;
        details.append(element("summary", "solution-summary", labels.solution), solutionText(answer));
        box.append(details);
      } else {
        const block = element("div", "solution");
        block.append(element("p", "solution-title", labels.solution), solutionText(answer));
        box.append(block);
      }
    }
    if (!videos.length && !solutions.length) box.append(element("p", "media-note", labels.noAnswer));
    return box;
  }

  function labelBadge(match) {
    const badge = element("span", "badge match-label", match.label === "same" ? labels.labelSame : labels.labelSimilar);
    badge.dataset.label = match.label;
    return badge;
  }

  function mainCard(match) {
    const { entry } = match;
    const card = element("article", "card match-main");
    card.dataset.testid = "match-same";
    card.setAttribute("aria-labelledby", "match-main-title");
    const head = element("div", "match-main-head");
    const title = element("h3", "match-main-title", labels.sameTitle);
    title.id = "match-main-title";
    head.append(title, labelBadge(match));
    card.append(head, element("p", "match-intro", labels.sameIntro));
    const quote = element("blockquote", "match-text", entry.text);
    quote.dataset.testid = "match-text";
    card.append(quote, element("p", "match-meta", meta(entry)));
    const points = knowledgePoints(entry);
    if (points) card.append(points);
    card.append(answers(entry, { collapsible: true }));
    return card;
  }

  function relatedItem(match) {
    const { entry } = match;
    const item = element("li", "card related-item");
    item.dataset.testid = "related-match";
    const head = element("div", "related-head");
    head.append(labelBadge(match), element("span", "match-meta", meta(entry)));
    item.append(head, element("p", "match-text", entry.text));
    const points = knowledgePoints(entry);
    if (points) item.append(points);
    const details = element("details", "related-answer");
    details.append(element("summary", "related-summary", labels.showAnswer), answers(entry, { collapsible: false }));
    item.append(details);
    return item;
  }

  // --- Reconciling -----------------------------------------------------------------------------

  function matchKey(match) {
    return JSON.stringify([match.label, match.entry]);
  }

  /** Keep the children whose entry and content did not change; build the others. */
  function reconcile(container, list, build) {
    const existing = new Map(Array.from(container.children, (child) => [child.dataset.entry, child]));
    const children = list.map((match) => {
      const key = matchKey(match);
      let child = existing.get(String(match.entry.id));
      if (!child || child.dataset.key !== key) {
        child = build(match);
        child.dataset.entry = String(match.entry.id);
        child.dataset.key = key;
      }
      child.dataset.matchId = String(match.id);
      return child;
    });
    const same = children.length === container.children.length && children.every((c, i) => container.children[i] === c);
    if (!same) container.replaceChildren(...children);
  }

  // --- Rendering -------------------------------------------------------------------------------

  function renderStatus(question, outcome) {
    let state = "";
    let text = "";
    let detail = "";
    if (outcome === "") {
      state = "matching";
      text = labels.matching;
    } else if (outcome === "none") {
      state = "none";
      text = labels.noneMatched;
      if (question.status === "waiting_teacher") detail = config.canEdit ? labels.waitingStudent : labels.waitingOther;
    } else if (outcome === "similar" && !mainMatch) {
      state = "similar";
      text = labels.similarIntro;
    }
    statusBox.dataset.state = state;
    setText(statusText, text);
    setText(statusDetail, detail);
    statusDetail.hidden = !detail;
    statusBox.hidden = !text;
  }

  function renderFeedback(question, outcome) {
    const judged = JUDGED.has(outcome) && matches.length > 0;
    let result = "";
    if (judged && question.status === "resolved") {
      result = config.canEdit ? labels.resolvedStudent : labels.resolvedOther;
    } else if (judged && question.status === "waiting_teacher") {
      result = config.canEdit ? labels.waitingStudent : labels.waitingOther;
    }
    feedback.hidden = !judged || (!buttons.length && !result);
    feedback.dataset.status = question.status;
    setText(feedbackResult, result);
    feedbackResult.hidden = !result;
    for (const button of buttons) {
      const chosen = button.dataset.choice === "resolved" ? "resolved" : "waiting_teacher";
      button.setAttribute("aria-pressed", String(question.status === chosen));
    }
    // Right under the answer the student is judging: the same question's card, else the related list.
    const anchor = mainMatch ? mainBox : relatedSection;
    if (anchor.nextElementSibling !== feedback) anchor.after(feedback);
  }

  function render(question) {
    const outcome = question.match_outcome || "";
    const shown = MATCHED_STATUSES.has(question.status) && (outcome !== "" || question.status === "understood");
    section.hidden = !shown;
    if (!shown) return;
    section.dataset.outcome = outcome || "matching";
    matches = outcome ? [...(question.matches || [])].sort((a, b) => a.rank - b.rank) : [];
    mainMatch = outcome === "same" ? matches.find((match) => match.label === "same") || null : null;
    const related = matches.filter((match) => match !== mainMatch);
    renderStatus(question, outcome);
    reconcile(mainBox, mainMatch ? [mainMatch] : [], mainCard);
    reconcile(relatedList, related, relatedItem);
    relatedSection.hidden = related.length === 0;
    renderFeedback(question, outcome);
  }

  // --- Feedback --------------------------------------------------------------------------------

  // The answer "being viewed": the one opened or played last, else the same question's.
  function viewed(event) {
    const card = event.target.closest && event.target.closest("[data-entry]");
    if (card && (event.type !== "toggle" || event.target.open)) viewedEntry = card.dataset.entry;
  }
  // Neither event bubbles; both pass the section while capturing.
  section.addEventListener("toggle", viewed, true);
  section.addEventListener("play", viewed, true);

  function chosenMatchId() {
    const match = matches.find((m) => String(m.entry.id) === viewedEntry) || mainMatch;
    return match ? match.id : null;
  }

  function setSending(button, active) {
    sending = active;
    for (const other of buttons) other.disabled = active;
    button.setAttribute("aria-busy", String(active));
  }

  async function send(button) {
    if (sending) return;
    setSending(button, true);
    setText(feedbackError, "");
    const body = { choice: button.dataset.choice };
    const matchId = chosenMatchId();
    if (matchId !== null) body.match_id = matchId;
    try {
      const response = await fetch(config.feedbackUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(body),
      });
      const data = await response.json().catch(() => null);
      if (!response.ok) {
        const error = apiError(data);
        throw new Error(error ? error.message : labels.feedbackError);
      }
      setSending(button, false);
      onQuestion(data);
    } catch (error) {
      setSending(button, false);
      setText(feedbackError, error instanceof TypeError ? labels.feedbackError : error.message || labels.feedbackError);
    }
  }

  for (const button of buttons) button.addEventListener("click", () => send(button));

  return render;
}
