// The replay of an ended lecture: its chapters (a tap seeks there and plays; the chapter playing is marked) and
// the report of what was watched. The page counts the seconds of video it played (not the time that passed,
// and not what a seek skipped) and posts them every 20 s of playing, on pause, at the end and when the page is
// hidden or left (`keepalive`: the request outlives the page). Each report carries the key of this viewing and
// its number: a report sent again (a retry after a lost answer, or once more as the page goes) is stored once.

import { csrfToken, pageData, randomKey } from "./page.js";

const config = pageData("replay-config");
const video = document.getElementById("replay-video");
const chapters = [...document.querySelectorAll("button[data-seconds]")];

const REPORT_EVERY_SECONDS = 20;
// Players update the time about four times a second; a longer step forward between two updates is a seek.
const MAX_STEP_SECONDS = 1.5;

const viewing = randomKey();
let seq = 0;
let played = []; // the [start, end] stretches played since the last report
let position = null; // the time of the last update while playing; null while paused or seeking
const outbox = []; // reports not yet acknowledged, oldest first
let sending = false;

// --- Chapters --------------------------------------------------------------------------------

function markChapter() {
  const time = video.currentTime;
  const begun = chapters.filter((button) => Number(button.dataset.seconds) <= time + 0.05);
  const current = begun.length ? begun[begun.length - 1] : chapters[0];
  for (const button of chapters) {
    if (button === current) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
}

for (const button of chapters) {
  button.addEventListener("click", () => {
    video.currentTime = Number(button.dataset.seconds);
    markChapter();
    video.play().catch(() => {}); // a browser that will not play leaves the player at the chapter, paused
  });
}

// --- What was played -------------------------------------------------------------------------

function add(start, end) {
  const last = played.at(-1);
  if (last && Math.abs(last[1] - start) < 0.001) last[1] = end;
  else played.push([start, end]);
  if (played.reduce((sum, [from, to]) => sum + to - from, 0) >= REPORT_EVERY_SECONDS) report();
}

function follow() {
  const time = video.currentTime;
  if (position !== null && !video.seeking) {
    const step = time - position;
    if (step > 0 && step <= MAX_STEP_SECONDS * Math.max(1, video.playbackRate)) add(position, time);
  }
  position = video.paused || video.seeking ? null : time;
}

video.addEventListener("playing", () => {
  position = video.currentTime;
});
video.addEventListener("timeupdate", () => {
  follow();
  markChapter();
});
video.addEventListener("seeking", () => {
  position = null; // what the seek passes over was not played
});
video.addEventListener("seeked", markChapter);
for (const type of ["pause", "ended"]) {
  video.addEventListener(type, () => {
    follow();
    report();
  });
}

// --- Reports ---------------------------------------------------------------------------------

function post(entry, keepalive) {
  const thousandths = (seconds) => Math.round(seconds * 1000) / 1000;
  const rounded = entry.intervals.map(([start, end]) => [thousandths(start), thousandths(end)]);
  return fetch(config.watchedUrl, {
    method: "POST",
    credentials: "same-origin",
    keepalive,
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify({ viewing, seq: entry.seq, intervals: rounded }),
  });
}

async function flush() {
  if (sending) return;
  sending = true;
  try {
    while (outbox.length) {
      const response = await post(outbox[0], false);
      if (response.status >= 500) return; // tried again with the next report
      outbox.shift(); // stored, or refused for good (a refusal does not change when sent again)
    }
  } catch {
    // offline: the reports wait for the next one, or for the page to go
  } finally {
    sending = false;
  }
}

function report() {
  if (played.length) {
    seq += 1;
    outbox.push({ seq, intervals: played });
    played = [];
  }
  flush();
}

function leaving() {
  follow();
  if (played.length) {
    seq += 1;
    outbox.push({ seq, intervals: played });
    played = [];
  }
  // Everything not yet acknowledged, once more: a report already stored is not counted twice.
  for (const entry of outbox) post(entry, true).catch(() => {});
}

window.addEventListener("pagehide", leaving);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") leaving();
});
window.addEventListener("online", flush);
markChapter();
