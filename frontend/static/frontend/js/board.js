// The shared whiteboard of a tutoring session, board protocol v1 (the docstring of media/board.py): the
// board's state built from its events, drawn as the recording's video draws it, and the local pen,
// highlighter, eraser, laser and photo placing turned into protocol messages.
//
//   const board = new Board(element, { role: "teacher", photoUrl, onMessage: send, onChange: renderTools });
//   board.apply(event);                       // every stored event, in seq order (repeats are ignored)
//   board.batch(() => events.forEach((event) => board.apply(event)));  // many at once, drawn once
//   board.tool = "pen";                       // null: look only (touch scrolls the page)
//
// Two canvases, so that the eraser never touches the photo: the page's background (white and the photo)
// under its strokes, which the eraser cuts out with "destination-out". A third canvas on top holds the
// highlighter strokes still being drawn: a highlighter is drawn as one path at 35 % opacity, so it does not
// darken where it crosses itself, and joins the strokes layer (the page is drawn again) when it ends.
// Pen and eraser points are drawn as they come; the page is drawn again only when an undo, redo, clear,
// page change or resize needs it, at most once a frame.

import { randomKey } from "./page.js";

const BOARD_WIDTH = 1200;
const BOARD_HEIGHT = 1600;
const PAGES = 50;
const HIGHLIGHTER_OPACITY = 0.35;
const LASER_MS = 600;
const CHUNK_MS = 50; // a drawn stroke is sent in chunks this often
const MAX_CHUNK_POINTS = 500;
const LASER_EVERY_MS = 100;

function canvas(className) {
  const element = document.createElement("canvas");
  element.className = className;
  element.setAttribute("aria-hidden", "true");
  return element;
}

function clamp(value, low, high) {
  return Math.min(high, Math.max(low, Math.round(value)));
}

/** A stroke from the fields of its first chunk, before any point; `seq` is that chunk's. */
function newStroke({ stroke, page, tool, color, width }, seq) {
  return { id: stroke, seq, page, tool, color, width, points: [], ended: false, undone: false };
}

export class Board {
  constructor(stage, options) {
    const { role = null, photoUrl = () => null, onMessage = () => {}, onChange = () => {}, replay = false } = options;
    this.stage = stage;
    this.role = role;
    this.photoUrl = photoUrl;
    this.onMessage = onMessage;
    this.onChange = onChange;
    this.replay = replay; // laser times are the events' own (a replay), not the arrival time
    this.background = canvas("whiteboard-layer");
    this.strokes = canvas("whiteboard-layer");
    this.live = canvas("whiteboard-layer");
    this.laserDot = document.createElement("span");
    this.laserDot.className = "whiteboard-laser";
    this.laserDot.hidden = true;
    stage.append(this.background, this.strokes, this.live, this.laserDot);
    this.images = new Map(); // attachment id -> <img>
    this.color = "#1a1a1a";
    this.width = 6;
    this.input = null; // the stroke, drag or laser the local pointer is doing
    this.preview = null; // the background being moved or scaled before it is sent
    this.scheduled = false;
    this.quiet = false;
    this.reset();
    this.tool = null;
    new ResizeObserver(() => this.resize()).observe(stage);
    stage.addEventListener("pointerdown", (event) => this.pointerDown(event));
    stage.addEventListener("pointermove", (event) => this.pointerMove(event));
    for (const type of ["pointerup", "pointercancel"]) stage.addEventListener(type, (event) => this.pointerUp(event));
  }

  /** Forget every event: an empty board on page 0. */
  reset() {
    this.seq = 0; // the last event applied
    this.pages = new Map(); // number -> { strokes (in seq order), clears, background }
    this.actions = new Map(); // stroke and clear ids -> the stroke or clear
    this.current = 0; // the page in view
    this.lastShown = 0; // the highest page ever in view
    this.laser = null;
    this.undoable = []; // this role's shown actions, oldest first
    this.redoable = []; // this role's undone actions, last undone last
    this.redraw();
  }

  get tool() {
    return this.activeTool;
  }

  /** "pen", "highlighter", "eraser", "laser", "photo" (move the page's photo) or null (no input). */
  set tool(tool) {
    this.activeTool = tool;
    this.stage.dataset.tool = tool || "";
  }

  page(number) {
    let page = this.pages.get(number);
    if (!page) {
      page = { strokes: [], clears: [], background: null };
      this.pages.set(number, page);
    }
    return page;
  }

  /** Pages 0..n-1 have been drawn on or shown. */
  get pageCount() {
    let count = this.lastShown + 1;
    for (const [number, page] of this.pages) {
      if (page.strokes.length || page.background) count = Math.max(count, number + 1);
    }
    return Math.min(count, PAGES);
  }

  get currentBackground() {
    return this.preview || this.page(this.current).background;
  }

  // --- Events --------------------------------------------------------------------------------

  /** Apply one stored event; events of other types only move `seq` on. */
  /** Stored events in order from the one after `seq`; false at a gap (one was lost: ask for what came after). */
  applyFrame(events) {
    for (const stored of events) {
      if (stored.seq <= this.seq) continue;
      if (stored.seq !== this.seq + 1) return false;
      this.apply(stored);
    }
    return true;
  }

  apply(event) {
    if (event.seq <= this.seq) return;
    this.seq = event.seq;
    if (event.type === "board.stroke") this.addChunk(event);
    else if (event.type === "board.undo" || event.type === "board.redo") this.toggle(event);
    else if (event.type === "board.clear") this.addClear(event);
    else if (event.type === "board.page") {
      this.current = event.page;
      this.lastShown = Math.max(this.lastShown, event.page);
      this.changed(this.current, true);
    } else if (event.type === "board.background") {
      if (event.page === this.current) this.preview = null;
      const { attachment, x, y, width } = event;
      this.page(event.page).background = attachment === null ? null : { attachment, x, y, width };
      this.changed(event.page, true);
    } else if (event.type === "board.laser") {
      this.laser = { x: event.x, y: event.y, at: this.replay ? event.at : performance.now() };
      if (!this.replay && !this.quiet) {
        this.showLaser(this.laser.at);
        clearTimeout(this.laserTimer);
        this.laserTimer = setTimeout(() => this.showLaser(performance.now()), LASER_MS);
      }
    } else return;
    this.onChange();
  }

  /** Run `work` (which applies many events) and draw once at the end: a snapshot, a jump in a replay. */
  batch(work) {
    this.quiet = true;
    try {
      work();
    } finally {
      this.quiet = false;
    }
    this.redraw();
  }

  addChunk(event) {
    let stroke = this.actions.get(event.stroke);
    if (stroke && stroke.local) {
      // Our own stroke, drawn already: it takes its place in the server's order.
      if (stroke.seq === Infinity) {
        stroke.seq = event.seq;
        this.page(stroke.page).strokes.sort((a, b) => a.seq - b.seq);
      }
      return;
    }
    if (!stroke) {
      stroke = newStroke(event, event.seq);
      this.register(stroke, event.by);
    } else if (!stroke.points || stroke.ended) return;
    const from = stroke.points.length;
    for (const [x, y] of event.points) stroke.points.push([x, y]);
    stroke.ended = Boolean(event.end);
    this.drawNew(stroke, from);
  }

  addClear(event) {
    if (this.actions.has(event.id)) return;
    const clear = { id: event.id, seq: event.seq, page: event.page, undone: false };
    this.actions.set(clear.id, clear);
    this.page(clear.page).clears.push(clear);
    this.own(clear.id, event.by);
    this.changed(clear.page);
  }

  register(stroke, by) {
    this.actions.set(stroke.id, stroke);
    this.page(stroke.page).strokes.push(stroke);
    this.own(stroke.id, by);
  }

  /** A new action of this role can be undone; what was undone before can no longer be redone. */
  own(id, by) {
    if (by !== this.role) return;
    this.undoable.push(id);
    this.redoable = [];
  }

  toggle(event) {
    const undone = event.type === "board.undo";
    if (event.by === this.role) this.moveOwn(event.target, undone);
    const action = this.actions.get(event.target);
    if (!action || action.undone === undone) return;
    action.undone = undone;
    this.changed(action.page);
  }

  moveOwn(id, undone) {
    const [from, to] = undone ? [this.undoable, this.redoable] : [this.redoable, this.undoable];
    const index = from.indexOf(id);
    if (index >= 0) from.splice(index, 1);
    if (!to.includes(id)) to.push(id);
  }

  /** A stroke we drew that the server refused (the `ref` of its error): it goes away. */
  discard(id) {
    const stroke = this.actions.get(id);
    if (!stroke || !stroke.local || stroke.seq !== Infinity) return;
    this.actions.delete(id);
    const strokes = this.page(stroke.page).strokes;
    strokes.splice(strokes.indexOf(stroke), 1);
    this.undoable = this.undoable.filter((other) => other !== id);
    if (this.input && this.input.stroke === stroke) {
      clearInterval(this.input.timer);
      this.input = null;
    }
    this.changed(stroke.page);
    this.onChange();
  }

  isVisible(stroke) {
    if (stroke.undone) return false;
    return !this.page(stroke.page).clears.some((clear) => clear.seq > stroke.seq && !clear.undone);
  }

  // --- Drawing -------------------------------------------------------------------------------

  resize() {
    const width = this.stage.clientWidth;
    if (!width) return;
    const pixels = Math.round(width * (window.devicePixelRatio || 1));
    if (pixels === this.pixels) return;
    this.pixels = pixels;
    for (const layer of [this.background, this.strokes, this.live]) {
      layer.width = pixels;
      layer.height = Math.round((pixels * BOARD_HEIGHT) / BOARD_WIDTH);
    }
    this.redraw();
  }

  context(layer) {
    const context = layer.getContext("2d");
    const scale = layer.width / BOARD_WIDTH;
    context.setTransform(scale, 0, 0, scale, 0, 0);
    return context;
  }

  /** Draw `page` again (with its background when `background`), at the next frame. */
  changed(page, background = false) {
    if (page !== this.current || this.quiet) return;
    this.backgroundChanged = this.backgroundChanged || background;
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => this.redraw());
  }

  redraw() {
    this.scheduled = false;
    this.backgroundChanged = false;
    if (!this.pixels) return;
    this.drawBackground();
    const context = this.context(this.strokes);
    context.clearRect(0, 0, BOARD_WIDTH, BOARD_HEIGHT);
    for (const stroke of this.page(this.current).strokes) {
      if (this.isVisible(stroke) && !this.isLive(stroke)) this.trace(context, stroke, 0);
    }
    this.drawLive();
  }

  drawBackground() {
    const context = this.context(this.background);
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, BOARD_WIDTH, BOARD_HEIGHT);
    const background = this.currentBackground;
    const image = background && this.image(background.attachment);
    if (!image || !image.naturalWidth) return;
    const height = (background.width * image.naturalHeight) / image.naturalWidth;
    context.drawImage(image, background.x, background.y, background.width, height);
  }

  image(attachment) {
    let image = this.images.get(attachment);
    if (!image) {
      const url = this.photoUrl(attachment);
      if (!url) return null;
      image = new Image();
      image.decoding = "async";
      image.addEventListener("load", () => {
        const background = this.currentBackground;
        if (background && background.attachment === attachment) this.changed(this.current, true);
      });
      image.src = url;
      this.images.set(attachment, image);
    }
    return image;
  }

  isLive(stroke) {
    return stroke.tool === "highlighter" && !stroke.ended;
  }

  drawLive() {
    const context = this.context(this.live);
    context.clearRect(0, 0, BOARD_WIDTH, BOARD_HEIGHT);
    for (const stroke of this.page(this.current).strokes) {
      if (this.isLive(stroke) && this.isVisible(stroke)) this.trace(context, stroke, 0);
    }
  }

  /** Draw the points of `stroke` from `from` on (joined to the point before), or all of it from 0. */
  trace(context, stroke, from) {
    const points = stroke.points.slice(Math.max(0, from - 1));
    if (!points.length) return;
    context.save();
    context.globalCompositeOperation = stroke.tool === "eraser" ? "destination-out" : "source-over";
    context.globalAlpha = stroke.tool === "highlighter" ? HIGHLIGHTER_OPACITY : 1;
    context.strokeStyle = context.fillStyle = stroke.color;
    context.lineWidth = stroke.width;
    context.lineCap = context.lineJoin = "round";
    context.beginPath();
    if (points.length === 1) {
      context.arc(points[0][0], points[0][1], stroke.width / 2, 0, 2 * Math.PI);
      context.fill();
    } else {
      context.moveTo(points[0][0], points[0][1]);
      for (const [x, y] of points.slice(1)) context.lineTo(x, y);
      context.stroke();
    }
    context.restore();
  }

  /** New points of a stroke: drawn onto its layer now (the whole page is drawn once a highlighter ends). */
  drawNew(stroke, from) {
    if (stroke.page !== this.current || this.quiet || !this.isVisible(stroke)) return;
    if (stroke.tool !== "highlighter") this.trace(this.context(this.strokes), stroke, from);
    else if (stroke.ended) this.changed(stroke.page);
    else this.drawLive();
  }

  /** Show the laser dot if it is on at `now` (the clock of `laser.at`). */
  showLaser(now) {
    const laser = this.laser;
    const on = Boolean(laser) && now >= laser.at && now < laser.at + LASER_MS;
    this.laserDot.hidden = !on;
    if (on) {
      this.laserDot.style.left = `${(laser.x / BOARD_WIDTH) * 100}%`;
      this.laserDot.style.top = `${(laser.y / BOARD_HEIGHT) * 100}%`;
    }
  }

  // --- Local actions ---------------------------------------------------------------------------

  send(message) {
    this.onMessage({ v: 1, ...message });
  }

  newId() {
    return `${this.role[0]}${randomKey().slice(0, 20)}`;
  }

  undo() {
    const id = this.undoable[this.undoable.length - 1];
    if (id === undefined) return;
    this.moveOwn(id, true);
    this.send({ type: "board.undo", target: id });
    this.onChange();
  }

  redo() {
    const id = this.redoable[this.redoable.length - 1];
    if (id === undefined) return;
    this.moveOwn(id, false);
    this.send({ type: "board.redo", target: id });
    this.onChange();
  }

  clear() {
    this.send({ type: "board.clear", id: this.newId(), page: this.current });
  }

  showPage(page) {
    if (page >= 0 && page < PAGES && page !== this.current) this.send({ type: "board.page", page });
  }

  /** Move or scale the page's photo: shown at once, sent when `send` (at the end of a drag). */
  moveBackground(changes, send) {
    const background = this.currentBackground;
    if (!background) return;
    const { x, y, width } = { ...background, ...changes };
    // Where the protocol allows: the photo may reach out of the board, not far.
    this.preview = {
      attachment: background.attachment,
      x: clamp(x, -BOARD_WIDTH, 2 * BOARD_WIDTH),
      y: clamp(y, -BOARD_HEIGHT, 2 * BOARD_HEIGHT),
      width: clamp(width, 50, 3 * BOARD_WIDTH),
    };
    this.changed(this.current, true);
    if (send) this.send({ type: "board.background", page: this.current, ...this.preview });
  }

  placeBackground(attachment) {
    this.send({ type: "board.background", page: this.current, attachment, x: 0, y: 0, width: BOARD_WIDTH });
  }

  // --- Pointer input ---------------------------------------------------------------------------

  boardPoint(event) {
    const rect = this.stage.getBoundingClientRect();
    return [
      clamp(((event.clientX - rect.left) / rect.width) * BOARD_WIDTH, 0, BOARD_WIDTH),
      clamp(((event.clientY - rect.top) / rect.height) * BOARD_HEIGHT, 0, BOARD_HEIGHT),
    ];
  }

  pointerDown(event) {
    if (!this.tool || this.input || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    this.stage.setPointerCapture(event.pointerId);
    const point = this.boardPoint(event);
    this.input = { pointer: event.pointerId, start: event.timeStamp, point };
    if (this.tool === "laser") this.sendLaser(point, event.timeStamp);
    else if (this.tool === "photo") this.input.origin = this.currentBackground;
    else this.startStroke(point);
  }

  pointerMove(event) {
    const input = this.input;
    if (!input || event.pointerId !== input.pointer) return;
    if (this.tool === "laser") this.sendLaser(this.boardPoint(event), event.timeStamp);
    else if (this.tool === "photo") this.drag(event, false);
    else {
      const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      for (const each of events.length ? events : [event]) this.addPoint(this.boardPoint(each), each.timeStamp);
    }
  }

  pointerUp(event) {
    const input = this.input;
    if (!input || event.pointerId !== input.pointer) return;
    if (this.tool === "photo") this.drag(event, true);
    else if (input.stroke) this.endStroke();
    this.input = null;
  }

  sendLaser([x, y], time) {
    if (this.input.laserAt !== undefined && time - this.input.laserAt < LASER_EVERY_MS) return;
    this.input.laserAt = time;
    this.send({ type: "board.laser", x, y });
  }

  drag(event, send) {
    const { origin, point } = this.input;
    if (!origin) return;
    const [x, y] = this.boardPoint(event);
    this.moveBackground({ x: origin.x + x - point[0], y: origin.y + y - point[1] }, send);
  }

  startStroke(point) {
    const tool = this.tool;
    const color = tool === "eraser" ? "#ffffff" : this.color;
    // Its seq is Infinity (on top, after any clear) until the server's echo says where it goes.
    const stroke = newStroke({ stroke: this.newId(), page: this.current, tool, color, width: this.width }, Infinity);
    stroke.local = true;
    this.register(stroke, this.role);
    this.input.stroke = stroke;
    this.input.pending = [];
    this.input.timer = setInterval(() => this.flush(false), CHUNK_MS);
    this.addPoint(point, this.input.start);
    this.onChange();
  }

  addPoint([x, y], time) {
    const input = this.input;
    const last = input.last;
    if (last && last[0] === x && last[1] === y) return;
    input.last = [x, y, Math.max(last ? last[2] : 0, Math.round(time - input.start))];
    input.pending.push(input.last);
    input.stroke.points.push([x, y]);
    this.drawNew(input.stroke, input.stroke.points.length - 1);
    if (input.pending.length >= MAX_CHUNK_POINTS) this.flush(false);
  }

  flush(end) {
    const input = this.input;
    if (!input.pending.length && !end) return;
    const { stroke } = input;
    // The last chunk needs a point too: the last one again changes nothing drawn.
    const points = input.pending.length ? input.pending : [input.last];
    input.pending = [];
    const { id, page, tool, color, width } = stroke;
    this.send({ type: "board.stroke", stroke: id, page, tool, color, width, points, end, ref: id });
  }

  endStroke() {
    clearInterval(this.input.timer);
    this.flush(true);
    const { stroke } = this.input;
    stroke.ended = true;
    if (stroke.tool === "highlighter") this.changed(stroke.page);
  }
}

/**
 * Replay a session's event log on `board` in time with `audio` (the recording's sound): the board shows
 * every event up to the audio's position, also after a seek. Events count from their `at` (ms).
 */
export function replayOnBoard(board, audio, events) {
  const log = [...events].sort((a, b) => a.seq - b.seq);
  let next = 0; // log[next] is the first event not applied yet
  let frame = null;

  function seek(ms) {
    if (next > 0 && log[next - 1].at > ms) {
      board.reset();
      next = 0;
    }
    let end = next;
    while (end < log.length && log[end].at <= ms) end += 1;
    const batch = log.slice(next, end);
    next = end;
    const apply = () => batch.forEach((event) => board.apply(event));
    if (batch.length > 20) board.batch(apply);
    else apply();
    board.showLaser(ms);
  }

  function play() {
    seek(audio.currentTime * 1000);
    frame = audio.paused ? null : requestAnimationFrame(play);
  }

  audio.addEventListener("play", () => {
    if (frame === null) frame = requestAnimationFrame(play);
  });
  audio.addEventListener("seeked", () => seek(audio.currentTime * 1000));
  seek(audio.currentTime * 1000);
}
