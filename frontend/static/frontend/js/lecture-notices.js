// A student's notices of the lectures they signed up for, on each of their pages (base.html): a lecture started
// (with the way in), moved to another time, or was cancelled. The socket (ws/lectures/notices/) is the
// student's own; on every (re)connect it first tells which of their lectures are live now (`lecture.live`), so a
// start missed while the page was away still shows, once. A notice never leads to the page it is on: a
// lecture's own page shows its start itself, and tells of its move or cancellation without the way in.

import { format, pageData } from "./page.js";
import { connect } from "./ws.js";

const config = pageData("notice-config");
const labels = pageData("notice-labels");
const box = document.getElementById("lecture-notices");
const announced = new Set(config.liveShown); // live lectures the page shows or has told of

function when(iso) {
  const options = { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(document.documentElement.lang || undefined, options).format(new Date(iso));
}

const lectureUrl = (lecture) => config.lectureUrl.replace("{id}", lecture.id);
const here = (lecture) => lectureUrl(lecture) === window.location.pathname;

function show(lecture, kind) {
  let notice = box.querySelector(`[data-lecture="${lecture.id}"]`);
  if (!notice) {
    notice = document.createElement("p");
    notice.className = "message lecture-notice";
    notice.dataset.lecture = String(lecture.id);
    notice.dataset.testid = "lecture-notice";
  }
  notice.dataset.kind = kind;
  const text = document.createElement("span");
  text.textContent = format(labels[kind], { title: lecture.title, time: when(lecture.starts_at) });
  notice.replaceChildren(text);
  if (!here(lecture)) {
    const link = document.createElement("a");
    link.className = `button button-small ${kind === "started" ? "button-primary" : "button-secondary"}`;
    link.href = lectureUrl(lecture);
    link.textContent = kind === "started" ? labels.join : labels.open;
    notice.append(link);
  }
  box.prepend(notice); // the newest first
  box.hidden = false;
}

function started(lecture) {
  if (announced.has(lecture.id) || here(lecture)) return;
  announced.add(lecture.id);
  show(lecture, "started");
}

connect(config.socketPath, {
  "lecture.live": (event) => event.lectures.forEach(started),
  "lecture.started": (event) => started(event.lecture),
  "lecture.moved": (event) => show(event.lecture, "moved"),
  "lecture.cancelled": (event) => show(event.lecture, "cancelled"),
});
