// Small helpers shared by the page modules: data handed over by the server, CSRF, text formatting.

/** Parse the JSON a template wrote with `{{ value|json_script:"id" }}`. */
export function pageData(id) {
  const element = document.getElementById(id);
  return element ? JSON.parse(element.textContent) : {};
}

/**
 * Fill Python-style placeholders of a translated label: format("%(n)s of %(max)s", {n: 1, max: 4}).
 * Labels with placeholders double a literal percent sign ("%%"), as gettext's python-format expects.
 */
export function format(label, values = {}) {
  return String(label).replace(/%\((\w+)\)s|%%/g, (match, name) => (name ? String(values[name] ?? "") : "%"));
}

/** Set an element's text only when it changes: live regions re-announce on every write. */
export function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

/** A function that shows a message in `box` (an alert) for `ms`, the last one only. */
export function transientMessage(box, ms) {
  let timer = null;
  return (message) => {
    setText(box, message);
    box.hidden = false;
    clearTimeout(timer);
    timer = setTimeout(() => (box.hidden = true), ms);
  };
}

export function csrfToken() {
  const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
  if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

/** A random key of 32 hex characters (crypto.randomUUID needs https; getRandomValues does not). */
export function randomKey() {
  if (window.crypto && typeof crypto.randomUUID === "function") {
    return crypto.randomUUID().replaceAll("-", "");
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The message of an API error body ({"error": {"code", "message", "field"}}), or null. */
export function apiError(body) {
  return body && body.error && typeof body.error.message === "string" ? body.error : null;
}

/**
 * POST a multipart form with upload progress (fetch has none). `onProgress(percent)` runs while the
 * body is sent (at most 99 until the answer comes); `onLoad(status, body)` with the JSON answer;
 * `onFailed()` when no answer came (network error, timeout, abort): the request may or may not
 * have reached the server.
 */
export function uploadForm(url, formData, { timeout, onProgress, onLoad, onFailed }) {
  const request = new XMLHttpRequest();
  request.open("POST", url);
  request.setRequestHeader("X-CSRFToken", csrfToken());
  request.setRequestHeader("Accept", "application/json");
  request.responseType = "json";
  request.timeout = timeout;
  request.upload.addEventListener("progress", (event) => {
    if (event.lengthComputable) onProgress(Math.min(99, Math.round((event.loaded / event.total) * 100)));
  });
  request.addEventListener("load", () => onLoad(request.status, request.response));
  for (const type of ["error", "timeout", "abort"]) request.addEventListener(type, onFailed);
  request.send(formData);
}
