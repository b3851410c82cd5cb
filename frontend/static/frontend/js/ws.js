// The one websocket client of the app.
//
//   const socket = connect("/ws/questions/12/", {
//     "question.status": (event) => render(event.question),
//     error: (event) => console.warn(event.code, event.message),
//     connection: ({ state }) => showConnection(state),
//   });
//   socket.send({ type: "ping" });
//   socket.close();
//
// Incoming JSON objects are dispatched on their `type` to handlers[type]; a type with no
// handler goes to handlers.default, if given. Binary messages (ArrayBuffers) go to
// handlers.binary. The connection reconnects by itself with capped exponential backoff and
// jitter, sooner when the browser comes back online or the page becomes visible again. On
// every (re)connect the server sends the current state; `path` may be a function, called for
// every (re)connect, so that the address can ask for what this page has not seen yet, e.g.
// connect(() => `/ws/sessions/3/?after=${lastSeq}`, handlers).
//
// handlers.connection({ state, attempt, delay, code }) is told of every state change:
//   "connecting"   the first attempt is under way
//   "open"         connected (again)
//   "reconnecting" the connection dropped or failed; the next attempt is in `delay` ms
//   "refused"      the server refused us for good (4401 not logged in, 4403, 4404 not allowed)
//   "closed"       close() was called

const HEARTBEAT_MS = 25_000;
// No message at all (not even a pong) for this long means the connection is dead,
// even if the browser has not noticed yet (common on phones that switch networks).
const SILENCE_LIMIT_MS = HEARTBEAT_MS * 2 + 5_000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const REFUSED_CODES = new Set([4401, 4403, 4404]);
// Binary data (live audio) is dropped rather than queued behind this much unsent data.
const MAX_BUFFERED_BYTES = 64 * 1024;

export function socketUrl(path) {
  const url = new URL(path, window.location.href);
  url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

export function connect(path, handlers = {}) {
  let socket = null;
  let attempt = 0; // failed attempts since the last open connection
  let finished = false; // close() was called or the server refused us
  let reconnectTimer = null;
  let heartbeatTimer = null;
  let lastMessageAt = 0;
  let currentState = "connecting";

  function notify(state, extra = {}) {
    currentState = state;
    if (handlers.connection) handlers.connection({ state, attempt, ...extra });
  }

  function dispatch(handler, message, name) {
    if (!handler) return;
    try {
      handler(message);
    } catch (error) {
      // One broken handler must not take the connection down.
      console.error("ws handler failed", name, error);
    }
  }

  function open() {
    reconnectTimer = null;
    if (finished) return;
    notify(attempt === 0 ? "connecting" : "reconnecting");
    const current = new WebSocket(socketUrl(typeof path === "function" ? path() : path));
    current.binaryType = "arraybuffer";
    socket = current;
    current.onopen = () => {
      if (socket !== current) return;
      attempt = 0;
      lastMessageAt = Date.now();
      startHeartbeat();
      notify("open");
    };
    current.onmessage = (event) => {
      if (socket !== current) return;
      lastMessageAt = Date.now();
      if (typeof event.data !== "string") {
        dispatch(handlers.binary, event.data, "binary");
        return;
      }
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message && typeof message.type === "string") {
        dispatch(handlers[message.type] || handlers.default, message, message.type);
      }
    };
    current.onclose = (event) => {
      if (socket !== current) return;
      dropped(event.code);
    };
    // An error is always followed by a close event, which does the work.
    current.onerror = () => {};
  }

  function dropped(code) {
    stopHeartbeat();
    socket = null;
    if (finished) return;
    if (REFUSED_CODES.has(code)) {
      finished = true;
      removeWakeListeners();
      notify("refused", { code });
      return;
    }
    scheduleReconnect(code);
  }

  function scheduleReconnect(code) {
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt);
    // "Equal jitter": half fixed, half random, so thousands of phones do not come back at once.
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    attempt += 1;
    notify("reconnecting", { delay, code });
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(open, delay);
  }

  function abandon(current) {
    // Stop listening to a socket we gave up on; its close event may come much later.
    current.onopen = current.onmessage = current.onclose = current.onerror = null;
    try {
      current.close();
    } catch {
      // already closed
    }
  }

  function startHeartbeat() {
    stopHeartbeat();
    heartbeatTimer = setInterval(() => {
      if (!socket || socket.readyState !== WebSocket.OPEN) return;
      if (Date.now() - lastMessageAt > SILENCE_LIMIT_MS) {
        const dead = socket;
        abandon(dead);
        dropped(undefined);
        return;
      }
      socket.send(JSON.stringify({ type: "ping" }));
    }, HEARTBEAT_MS);
  }

  function stopHeartbeat() {
    clearInterval(heartbeatTimer);
    heartbeatTimer = null;
  }

  // Waiting out a long backoff is pointless once the network or the page is back.
  function wake() {
    if (finished || socket || reconnectTimer === null) return;
    clearTimeout(reconnectTimer);
    open();
  }

  function onVisibility() {
    if (document.visibilityState === "visible") wake();
  }

  function removeWakeListeners() {
    window.removeEventListener("online", wake);
    document.removeEventListener("visibilitychange", onVisibility);
  }

  window.addEventListener("online", wake);
  document.addEventListener("visibilitychange", onVisibility);
  open();

  return {
    /** Send a JSON message; false when not connected (the caller decides whether to retry). */
    send(message) {
      if (!socket || socket.readyState !== WebSocket.OPEN) return false;
      socket.send(JSON.stringify(message));
      return true;
    },
    /** Send binary data; false when not connected or when earlier data is still waiting to go out. */
    sendBinary(data) {
      if (!socket || socket.readyState !== WebSocket.OPEN || socket.bufferedAmount > MAX_BUFFERED_BYTES) return false;
      socket.send(data);
      return true;
    },
    /** Drop the connection and connect again at once (a new address, when `path` is a function). */
    reconnect() {
      if (finished || !socket) return; // a reconnect is already scheduled
      stopHeartbeat();
      abandon(socket);
      socket = null;
      open();
    },
    close() {
      if (finished) return;
      finished = true;
      clearTimeout(reconnectTimer);
      reconnectTimer = null;
      stopHeartbeat();
      removeWakeListeners();
      if (socket) abandon(socket);
      socket = null;
      notify("closed");
    },
    /** The last state told to handlers.connection. */
    get state() {
      return currentState;
    },
  };
}

/**
 * A handlers.connection that tells the user in `box` when the connection is down, with
 * labels.reconnecting (labels.offline, if given, while the browser is offline) and labels.refused.
 */
export function connectionNotice(box, labels) {
  return ({ state }) => {
    let message = "";
    if (state === "reconnecting") message = labels.reconnecting;
    if (state === "reconnecting" && navigator.onLine === false && labels.offline) message = labels.offline;
    if (state === "refused") message = labels.refused;
    box.dataset.state = state;
    if (box.textContent !== message) box.textContent = message; // a live region re-announces every write
    box.hidden = !message;
  };
}
