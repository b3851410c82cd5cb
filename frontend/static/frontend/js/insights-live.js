// The administrators' live view: the figures of one place, kept current over the insights socket. The server
// sends `live.figures` on connect and whenever a figure changes; a place chosen in the picker is asked for with
// `place.choose` (the address follows, so a reconnect asks for the same place).
import { format, pageData, setText } from "./page.js";
import { connect, connectionNotice } from "./ws.js";

const labels = pageData("live-labels");
const districtSelect = document.getElementById("filter-district");
const schoolSelect = document.getElementById("filter-school");
const updated = document.getElementById("live-at");
const suppressedNotice = document.getElementById("live-suppressed");
const lectureList = document.getElementById("live-lectures");
const noLectures = document.getElementById("live-no-lectures");

function shownTime(iso) {
  return new Date(iso).toLocaleTimeString("zh-CN", { hour12: false });
}

function render(reading) {
  for (const [code, value] of Object.entries(reading.values)) {
    const cell = document.querySelector(`[data-testid="live-${code}"]`);
    if (cell) setText(cell, value === null ? "—" : String(value));
  }
  suppressedNotice.hidden = !reading.suppressed;
  updated.dateTime = reading.at;
  setText(updated, shownTime(reading.at));
  lectureList.replaceChildren(
    ...reading.lectures.map((lecture) => {
      const item = document.createElement("li");
      const title = document.createElement("strong");
      title.textContent = lecture.title;
      const audience = document.createElement("span");
      audience.textContent =
        lecture.audience === null ? labels.hidden : format(labels.watching, { count: lecture.audience });
      item.append(title, ` · ${lecture.subject} · `, audience);
      return item;
    }),
  );
  noLectures.hidden = reading.lectures.length > 0;
}

function place() {
  const query = new URLSearchParams();
  if (schoolSelect && schoolSelect.value) query.set("school", schoolSelect.value);
  else if (districtSelect && districtSelect.value) query.set("district", districtSelect.value);
  return query;
}

const socket = connect(() => `/ws/insights/live/${window.location.search}`, {
  "live.figures": render,
  error: (event) => console.warn(event.code, event.message),
  connection: connectionNotice(document.getElementById("live-connection"), labels),
});

function choose(changed, other) {
  if (other && changed.value) other.value = "";
  const query = place();
  window.history.replaceState(null, "", query.size ? `?${query}` : window.location.pathname);
  socket.send({ type: "place.choose", district: query.get("district"), school: query.get("school") });
}

if (districtSelect) districtSelect.addEventListener("change", () => choose(districtSelect, schoolSelect));
if (schoolSelect) schoolSelect.addEventListener("change", () => choose(schoolSelect, districtSelect));
