// Hold-to-record voice button: press and hold (finger, mouse, or Space/Enter) to record, release to stop.
// The microphone is opened for each recording and released right after, so the browser's
// "recording" indicator is only on while the button is held.

import { format } from "./page.js";

// In order of preference; the server accepts all of them.
const MIME_TYPES = ["audio/webm;codecs=opus", "audio/mp4", "audio/ogg;codecs=opus", "audio/ogg"];
const MIN_SECONDS = 0.6;
const AUDIO_BITS_PER_SECOND = 32_000; // speech: ~240 KB a minute

export function recordingSupported() {
  return Boolean(
    window.isSecureContext && navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder,
  );
}

export function pickMimeType() {
  if (!window.MediaRecorder || typeof MediaRecorder.isTypeSupported !== "function") return "";
  return MIME_TYPES.find((type) => MediaRecorder.isTypeSupported(type)) || "";
}

function extensionFor(type) {
  if (type.includes("mp4") || type.includes("aac")) return "m4a";
  if (type.includes("ogg")) return "ogg";
  return "webm";
}

/**
 * Wire the recorder to its elements. `onChange(clip)` is called with
 * {blob, filename, seconds} after a recording, and with null when it is deleted.
 */
export function setupRecorder({ button, buttonText, timer, clipBox, status, labels, maxSeconds, onChange }) {
  const mimeType = pickMimeType();
  let holding = false; // the user is pressing the button
  let recorder = null;
  let stream = null;
  let chunks = [];
  let startedAt = 0;
  let stoppedAt = 0;
  let tick = null;
  let clipUrl = null;

  function say(message) {
    status.textContent = message || "";
  }

  function showTimer(seconds) {
    timer.textContent = format(labels.recording, { seconds: Math.floor(seconds) });
  }

  function releaseMicrophone() {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
  }

  async function start() {
    if (holding || recorder) return;
    holding = true;
    say("");
    button.setAttribute("aria-pressed", "true");
    buttonText.textContent = labels.releaseToStop;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, channelCount: 1 },
      });
    } catch (error) {
      holding = false;
      reset();
      say(error && error.name === "NotAllowedError" ? labels.micDenied : labels.micUnavailable);
      return;
    }
    if (!holding) {
      // Released while the browser asked for permission: nothing was said yet.
      releaseMicrophone();
      reset();
      say(labels.recordTooShort);
      return;
    }
    const options = { audioBitsPerSecond: AUDIO_BITS_PER_SECOND };
    if (mimeType) options.mimeType = mimeType;
    try {
      recorder = new MediaRecorder(stream, options);
    } catch {
      releaseMicrophone();
      reset();
      say(labels.micUnavailable);
      return;
    }
    chunks = [];
    recorder.ondataavailable = (event) => {
      if (event.data && event.data.size) chunks.push(event.data);
    };
    recorder.onstop = finished;
    recorder.start();
    startedAt = performance.now();
    button.classList.add("is-recording");
    timer.hidden = false;
    showTimer(0);
    tick = setInterval(() => {
      const seconds = (performance.now() - startedAt) / 1000;
      showTimer(seconds);
      if (seconds >= maxSeconds) stop();
    }, 250);
  }

  function stop() {
    holding = false;
    stoppedAt = performance.now();
    if (recorder && recorder.state === "recording") recorder.stop();
    else if (!recorder) reset();
  }

  function reset() {
    clearInterval(tick);
    tick = null;
    button.classList.remove("is-recording");
    button.setAttribute("aria-pressed", "false");
    buttonText.textContent = labels.holdToRecord;
    timer.hidden = true;
  }

  function finished() {
    const seconds = (stoppedAt - startedAt) / 1000;
    const type = (recorder && recorder.mimeType) || mimeType || "audio/webm";
    recorder = null;
    releaseMicrophone();
    reset();
    if (seconds < MIN_SECONDS || !chunks.length) {
      say(labels.recordTooShort);
      return;
    }
    const blob = new Blob(chunks, { type });
    chunks = [];
    showClip({ blob, filename: `voice.${extensionFor(type)}`, seconds: Math.max(1, Math.floor(seconds)) });
  }

  function showClip(clip) {
    removeClip();
    clipUrl = URL.createObjectURL(clip.blob);
    const label = format(labels.recorded, { seconds: clip.seconds });
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "metadata";
    audio.src = clipUrl;
    audio.setAttribute("aria-label", label);
    const caption = document.createElement("span");
    caption.className = "clip-caption";
    caption.textContent = label;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "button button-quiet";
    remove.textContent = labels.deleteVoice;
    remove.addEventListener("click", () => {
      removeClip();
      onChange(null);
      say(labels.voiceDeleted);
      button.focus();
    });
    clipBox.replaceChildren(caption, audio, remove);
    clipBox.hidden = false;
    onChange(clip);
  }

  function removeClip() {
    if (clipUrl) URL.revokeObjectURL(clipUrl);
    clipUrl = null;
    clipBox.replaceChildren();
    clipBox.hidden = true;
  }

  button.addEventListener("pointerdown", (event) => {
    if (event.pointerType === "mouse" && event.button !== 0) return;
    event.preventDefault(); // no text selection, no focus-scroll, no long-press menu
    try {
      button.setPointerCapture(event.pointerId); // release outside the button still stops
    } catch {
      // not supported: pointerup on the button still works
    }
    start();
  });
  for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
    button.addEventListener(type, () => {
      if (holding || recorder) stop();
    });
  }
  button.addEventListener("contextmenu", (event) => event.preventDefault());
  button.addEventListener("keydown", (event) => {
    if ((event.key === " " || event.key === "Enter") && !event.repeat) {
      event.preventDefault();
      start();
    }
  });
  button.addEventListener("keyup", (event) => {
    if (event.key === " " || event.key === "Enter") {
      event.preventDefault();
      stop();
    }
  });
  // Leaving the page (or the app going to the background) ends a recording in progress.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden" && (holding || recorder)) stop();
  });

  return {
    clear() {
      removeClip();
    },
  };
}
