// A live set with the pose model in the patient's browser: the camera in a <video>, the model in a worker
// (pose_worker.js), the skeleton drawn at once over the video from the local landmarks, each frame's landmarks to
// the server's checkers over /formcheck/live (formcheck/web/wire.py's binary frame), and the counter, set, phase,
// cue and spoken cues from the server's replies. The page's script (ui/live_browser.py) mounts it as a
// Streamlit component and hears from it only on rare events: "start", "stop", "token" (the set's token expired:
// a new one, please) and "capability" (this browser cannot run the model: the server's pose instead).

const N = 33;
const BONES = [[11, 12], [11, 23], [12, 24], [23, 24], [11, 13], [13, 15], [12, 14], [14, 16], [23, 25], [25, 27],
  [27, 29], [29, 31], [27, 31], [24, 26], [26, 28], [28, 30], [30, 32], [28, 32]]; // formcheck/overlay.py's
const BODY_CHAIN = [[11, 23], [23, 25], [25, 27], [12, 24], [24, 26], [26, 28]]; // formcheck/pose.py's
const TONES = {scoring: "rgb(40,200,90)", fault: "rgb(230,60,50)", not_scoring: "rgb(150,150,150)"};
const MAX_UNANSWERED = 5; // frames sent and not answered; beyond, frames are skipped, never queued
const UNANSWERED_S = 2; // a frame the server dropped is never answered: forgotten after this long
const BACKOFF_MS = [500, 1000, 2000, 4000];
const MAX_MESSAGE = 16 * 1024; // the server's limit (wire.MAX_MESSAGE_BYTES)
const FATAL = {4403: "this page's address is not the coach's", 4409: "this set went on in another tab or window"};
const live = new WeakMap(); // the component's element → its LiveSet (the component is called again per new data)

export function mount(component) {
  const {parentElement} = component;
  let set = live.get(parentElement);
  if (!set) {
    set = new LiveSet(parentElement);
    live.set(parentElement, set);
  }
  const generation = set.update(component);
  return () => { // Streamlit calls only the last cleanup, at unmount; an earlier one (cancelled) does nothing
    if (generation === set.generation) {
      set.destroy();
      live.delete(parentElement);
    }
  };
}

class LiveSet {
  constructor(root) {
    this.root = root;
    this.generation = 0;
    this.ui = build(root);
    this.worker = null;
    this.modelReady = false;
    this.running = false; // the camera is on and frames go to the model
    this.token = null;
    this.ws = null;
    this.retry = 0;
    this.retryTimer = null;
    this.askedToken = null;
    this.reported = false; // a capability failure is told once
    this.seq = 0;
    this.lastT = -1; // the last frame time given to the model (ms): strictly increasing for the worker's life
    this.base = null; // this camera stream's offset from its own media time to the model's time
    this.inFlight = false;
    this.pending = new Map(); // seq → time sent
    this.said = null;
    this.reply = null;
    this.voice = stored("formcheck.voice") !== "off";
    this.stats = {modelFps: 0, roundTripMs: null, sent: 0, answered: 0, skipped: 0, detectMs: null, loadMs: null,
      frames: 0, people: 0, failed: 0, reconnects: 0, closes: [], violations: [], path: "browser"};
    this.results = []; // times of recent model results (for frames a second)
    this.rtts = [];
    this.ui.start.onclick = () => this.start();
    this.ui.mute.onclick = () => this.toggleVoice();
    this.showVoice();
    document.addEventListener("securitypolicyviolation", this.onViolation = (e) =>
      this.stats.violations.push({uri: e.blockedURI, directive: e.effectiveDirective}));
  }

  update(component) {
    this.generation += 1;
    this.trigger = component.setTriggerValue;
    const data = this.data = component.data;
    if (data.debug) window.__formcheckLive = this.stats;
    if (!this.reply) this.showStatus({counter: data.exercise.counter, set: data.exercise.set});
    this.ui.label.textContent = data.exercise.kind === "reps" ? "Reps" : "Hold";
    if (!this.reported && !this.worker) {
      const missing = incapable();
      if (missing) this.capability(missing);
      else this.loadModel();
    }
    if (data.token && this.running && data.token !== this.token) {
      this.token = data.token;
      this.connect();
    } else if (!data.token && this.token) {
      this.stop(false); // the page ended the set (its stop button)
    }
    return this.generation;
  }

  capability(reason) {
    if (this.reported) return;
    this.reported = true;
    this.note(`The pose model cannot run in this browser (${reason}): the server finds the pose instead.`);
    this.stop(false);
    this.trigger("event", {kind: "capability", reason});
  }

  loadModel() {
    const a = this.data.assets;
    this.worker = new Worker(absolute(a.worker));
    this.worker.onmessage = ({data}) => this.fromWorker(data);
    this.worker.onerror = (e) => this.capability(`its worker failed: ${e.message || "no reason given"}`);
    this.worker.postMessage({type: "init", bundle: absolute(a.bundle), wasm: absolute(a.wasm).replace(/\/$/, ""),
      model: absolute(a.model), delegate: this.data.delegate, masks: !!this.data.needs_mask});
    this.ui.start.disabled = true;
    this.note("Loading the pose model…");
  }

  fromWorker(m) {
    if (m.type === "ready") {
      this.modelReady = true;
      this.stats.loadMs = Math.round(m.loadMs);
      this.ui.start.disabled = false;
      this.note(this.running ? "" : "Press START, then get into position.");
      if (this.running) this.pump();
    } else if (m.type === "error") {
      this.capability(`the model did not start: ${m.message}`);
    } else if (m.type === "pose") {
      this.inFlight = false;
      this.onPose(m);
    } else if (m.type === "violation") {
      this.stats.violations.push({uri: m.uri, directive: m.directive, worker: true});
    }
  }

  async start() {
    if (this.running || !this.modelReady) return;
    this.ui.start.disabled = true;
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 480}, audio: false});
    } catch (e) {
      this.ui.start.disabled = false;
      this.note(`The camera did not start: ${e.message || e.name}. Allow the camera for this page, then START.`);
      return;
    }
    const video = this.ui.video;
    video.srcObject = this.stream;
    await video.play().catch(() => {});
    this.running = true;
    this.base = null; // a new stream's media time starts again
    this.results = [];
    this.reply = null;
    this.ui.start.textContent = "STOP";
    this.ui.start.disabled = false;
    this.ui.start.onclick = () => this.stop(true);
    this.note("");
    this.speedCheck();
    this.pump();
    this.trigger("event", {kind: "start"});
  }

  stop(byPatient) {
    const was = this.running;
    this.running = false;
    clearTimeout(this.speedTimer);
    clearTimeout(this.retryTimer);
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    this.stream = null;
    this.ui.video.srcObject = null;
    this.token = null;
    this.closeSocket();
    this.clearCanvas();
    this.reply = this.said = null; // the next set starts from its plan (its coach counts its cues anew)
    this.showStatus({counter: this.data.exercise.counter, set: this.data.exercise.set});
    this.ui.start.textContent = "START";
    this.ui.start.onclick = () => this.start();
    this.ui.start.disabled = !this.modelReady;
    if (byPatient && was) this.trigger("event", {kind: "stop", fps: Math.round(this.stats.modelFps * 10) / 10});
  }

  speedCheck() {
    // after the warm-up, the model's frames a second over the next 2 s: too few, and the server's pose is used
    const {warmup_s: warmup, min_fps: least} = this.data.speed;
    this.speedTimer = setTimeout(() => {
      const from = performance.now();
      this.speedTimer = setTimeout(() => {
        if (!this.running) return;
        if (document.visibilityState !== "visible") return this.speedCheck(); // a hidden tab gets no frames
        const fps = this.results.filter((t) => t >= from).length / ((performance.now() - from) / 1000);
        this.stats.checkedFps = Math.round(fps * 10) / 10;
        if (fps < least) this.capability(`${fps.toFixed(1)} model frames a second, fewer than ${least}`);
      }, 2000);
    }, warmup * 1000);
  }

  pump() {
    const video = this.ui.video;
    if (!this.running || !this.modelReady || this.pumping) return;
    this.pumping = true;
    const onFrame = (now, meta) => {
      if (!this.running) { this.pumping = false; return; }
      this.toModel(meta);
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  toModel(meta) {
    // one frame at a time in the worker: a frame that comes while it works is skipped, never queued
    if (this.inFlight || !this.ui.video.videoWidth) return;
    // the frame's own time (its media time), shifted once per stream so that the model's times only increase
    const own = Number.isFinite(meta.mediaTime) ? meta.mediaTime * 1000 : meta.presentationTime;
    if (this.base === null) this.base = this.lastT + 1 - own;
    const t = this.base + own;
    if (!(t > this.lastT)) return; // a frame seen already
    this.lastT = t;
    this.inFlight = true;
    const seq = ++this.seq;
    createImageBitmap(this.ui.video).then((bitmap) => {
      if (!this.worker) { bitmap.close(); return; }
      this.worker.postMessage({type: "frame", bitmap, t_ms: t, seq}, [bitmap]);
    }, () => { this.inFlight = false; });
  }

  onPose(m) {
    const now = performance.now();
    if (m.failed) { // not "nobody there": nothing is drawn or sent, and it is no model frame for the speed check
      this.stats.failed += 1;
      this.stats.lastFailure = m.failed;
      return;
    }
    this.results = this.results.filter((t) => t > now - 2000).concat([now]);
    this.stats.modelFps = this.results.length > 1 ? (this.results.length - 1) / ((now - this.results[0]) / 1000) : 0;
    this.stats.detectMs = Math.round(m.detectMs);
    this.stats.frames += 1;
    if (m.people) this.stats.people += 1;
    if (!this.running) return;
    this.draw(m);
    this.send(m, now);
  }

  send(m, now) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.helloSent) return;
    for (const [seq, at] of this.pending) if (now - at > UNANSWERED_S * 1000) this.pending.delete(seq);
    if (this.pending.size >= MAX_UNANSWERED) { this.stats.skipped += 1; return; }
    ws.send(encode(m));
    this.pending.set(m.seq, now);
    this.stats.sent += 1;
  }

  connect() {
    this.closeSocket();
    if (!this.running || !this.token) return;
    const url = new URL(this.data.socket, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const ws = this.ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    this.helloSent = false;
    ws.onopen = () => {
      const video = this.ui.video;
      ws.send(JSON.stringify({token: this.token, width: video.videoWidth, height: video.videoHeight}));
      this.helloSent = true;
    };
    ws.onmessage = (e) => { if (typeof e.data === "string") this.onReply(JSON.parse(e.data)); };
    ws.onclose = (e) => this.onClose(ws, e);
  }

  closeSocket() {
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = ws.onmessage = null;
      if (ws.readyState <= WebSocket.OPEN) ws.close(1000, "set ended");
    }
    this.pending.clear();
  }

  onClose(ws, e) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.pending.clear();
    this.stats.closes.push([e.code, e.reason]);
    if (!this.running) return;
    if (e.code === 4401) { // expired: the page's script makes a new token for this set; revoked: the page ends it
      if (e.reason !== "token revoked" && this.askedToken !== this.token) {
        this.askedToken = this.token;
        this.trigger("event", {kind: "token"});
      }
      return;
    }
    if (FATAL[e.code] || e.code === 1008) {
      this.note(`The coach stopped listening: ${FATAL[e.code] || e.reason}. Press STOP.`);
      return;
    }
    const wait = BACKOFF_MS[Math.min(this.retry, BACKOFF_MS.length - 1)];
    this.retry += 1;
    this.stats.reconnects += 1;
    this.note("Reconnecting to the coach…");
    this.retryTimer = setTimeout(() => this.connect(), wait);
  }

  onReply(r) {
    const sent = this.pending.get(r.seq);
    const now = performance.now();
    for (const seq of this.pending.keys()) if (seq <= r.seq) this.pending.delete(seq);
    if (sent !== undefined) {
      this.rtts = this.rtts.concat([now - sent]).slice(-100);
      this.stats.roundTripMs = median(this.rtts);
    }
    this.stats.answered += 1;
    if (this.retry) { this.retry = 0; this.note(""); }
    this.reply = r;
    this.showStatus(r);
    if (r.say && (!this.said || r.say[0] !== this.said[0])) {
      this.said = r.say;
      if (this.voice && window.speechSynthesis) speechSynthesis.speak(new SpeechSynthesisUtterance(r.say[1]));
    }
  }

  showStatus(r) {
    const ui = this.ui, texts = this.data.texts;
    ui.counter.textContent = r.counter || "";
    ui.set.textContent = r.set ? `Set ${r.set}` : "";
    ui.phase.textContent = r.message ? (["countdown", "rest"].includes(r.phase) ? "⏱ " : "✓ ") + r.message : "";
    ui.banner.textContent = r.banner || "";
    let warn = "";
    if (r.limit) warn = texts.limit;
    else if (r.tone === "not_scoring" && ["countdown", "set"].includes(r.phase))
      warn = `Not scoring: ${texts.refusals[r.refusal] || r.cue || "get into position"}`;
    ui.warn.textContent = warn;
    ui.cue.textContent = r.cue || "";
    ui.cue.dataset.tone = r.tone || "";
  }

  draw(m) {
    const canvas = this.ui.canvas, video = this.ui.video;
    if (canvas.width !== video.videoWidth || canvas.height !== video.videoHeight) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
    }
    const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    if (!m.people) return;
    const p = mainPerson(m.image, m.people, w, h);
    const at = (j) => [m.image[(p * N + j) * 4] * w, m.image[(p * N + j) * 4 + 1] * h];
    const seen = (j) => m.image[(p * N + j) * 4 + 3] >= 0.3;
    const unit = Math.max(w, h) / 1000;
    ctx.lineWidth = Math.max(2, 3 * unit);
    ctx.lineCap = "round";
    ctx.strokeStyle = TONES[this.reply ? this.reply.tone : "not_scoring"] || TONES.not_scoring;
    ctx.beginPath();
    for (const [a, b] of BONES) {
      if (seen(a) && seen(b)) { ctx.moveTo(...at(a)); ctx.lineTo(...at(b)); }
    }
    ctx.stroke();
    ctx.fillStyle = "white";
    for (let j = 11; j < N; j++) {
      if (!seen(j)) continue;
      ctx.beginPath();
      ctx.arc(...at(j), ctx.lineWidth + 1, 0, 2 * Math.PI);
      ctx.fill();
    }
  }

  clearCanvas() {
    const c = this.ui.canvas;
    c.getContext("2d").clearRect(0, 0, c.width, c.height);
  }

  toggleVoice() {
    this.voice = !this.voice;
    stored("formcheck.voice", this.voice ? "on" : "off");
    if (!this.voice && window.speechSynthesis) speechSynthesis.cancel();
    this.showVoice();
  }

  showVoice() {
    this.ui.mute.textContent = `Speak the cues: ${this.voice ? "on" : "off"}`;
    this.ui.mute.setAttribute("aria-pressed", String(this.voice));
  }

  note(text) {
    this.ui.note.textContent = text;
  }

  destroy() {
    this.stop(false);
    document.removeEventListener("securitypolicyviolation", this.onViolation);
    if (this.worker) {
      const worker = this.worker;
      this.worker = null;
      worker.onmessage = ({data}) => {
        if (data.type === "violation") this.stats.violations.push({uri: data.uri, directive: data.directive, worker: true});
        if (data.type === "closed") this.stats.workerClosed = true;
      };
      worker.postMessage({type: "close"});
    }
    this.root.replaceChildren();
  }
}

function build(root) {
  const el = (tag, cls, parent, text) => {
    const e = document.createElement(tag);
    if (cls) { e.className = cls; e.dataset.testid = cls; }
    if (text) e.textContent = text;
    parent.appendChild(e);
    return e;
  };
  const box = el("div", "fc-live", root);
  const stage = el("div", "fc-stage", box);
  const video = el("video", "fc-video", stage);
  video.muted = true;
  video.playsInline = true;
  video.autoplay = true;
  const canvas = el("canvas", "fc-overlay", stage);
  const banner = el("div", "fc-banner", stage);
  const hud = el("div", "fc-hud", box);
  const label = el("div", "fc-label", hud);
  const counter = el("div", "fc-counter", hud);
  const set = el("div", "fc-set", hud);
  const phase = el("div", "fc-phase", hud);
  const warn = el("div", "fc-warn", hud);
  const cue = el("div", "fc-cue", hud);
  cue.setAttribute("role", "status");
  const buttons = el("div", "fc-buttons", hud);
  const start = el("button", "fc-start", buttons, "START");
  const mute = el("button", "fc-mute", buttons);
  const note = el("div", "fc-note", hud);
  return {video, canvas, banner, label, counter, set, phase, warn, cue, start, mute, note};
}

function incapable() {
  if (typeof WebAssembly !== "object") return "no WebAssembly";
  if (!window.Worker || !window.createImageBitmap || !window.OffscreenCanvas) return "no worker canvas";
  if (!("requestVideoFrameCallback" in HTMLVideoElement.prototype)) return "no video frame callback";
  if (!document.createElement("canvas").getContext("webgl2")) return "no WebGL2";
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return "no camera access";
  return null;
}

function mainPerson(image, people, w, h) {
  // formcheck/pose.py's main_person: the largest, along shoulder → hip → knee → ankle
  let best = 0, size = -1;
  for (let p = 0; p < people; p++) {
    let s = 0;
    for (const [a, b] of BODY_CHAIN) {
      const i = (p * N + a) * 4, j = (p * N + b) * 4;
      s += Math.hypot((image[i] - image[j]) * w, (image[i + 1] - image[j + 1]) * h);
    }
    if (s > size) { best = p; size = s; }
  }
  return best;
}

function encode(m) {
  // formcheck/web/wire.py: a 16-byte header, people × 33 × 4 f32 image, people × 33 × 3 f32 world, then the
  // first person's mask as row runs when it fits in the message
  const body = 16 + m.people * N * 7 * 4;
  const runs = m.mask && m.people ? m.mask.runs : null;
  const withMask = runs && body + 6 + runs.length * 2 <= MAX_MESSAGE;
  const buffer = new ArrayBuffer(body + (withMask ? 6 + runs.length * 2 : 0));
  const view = new DataView(buffer);
  view.setUint8(0, 1);
  view.setUint8(1, withMask ? 1 : 0);
  view.setUint8(2, m.people);
  view.setUint8(3, 0);
  view.setUint32(4, m.seq, true);
  view.setFloat64(8, m.t_ms, true);
  let at = 16;
  for (const v of m.image) { view.setFloat32(at, v, true); at += 4; }
  for (const v of m.world) { view.setFloat32(at, v, true); at += 4; }
  if (withMask) {
    view.setUint16(at, m.mask.h, true);
    view.setUint16(at + 2, m.mask.w, true);
    view.setUint16(at + 4, runs.length / 3, true);
    at += 6;
    for (const v of runs) { view.setUint16(at, v, true); at += 2; }
  }
  return buffer;
}

function stored(key, value) {
  // the patient's choice kept in this browser (where storage is refused, for this page only)
  try {
    if (value === undefined) return localStorage.getItem(key);
    localStorage.setItem(key, value);
  } catch (e) { /* private mode: not kept */ }
  return value;
}

function absolute(path) {
  // the component's own module is a blob: URL, so every URL is made absolute against the page's
  return new URL(path, location.href).href;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)] * 10) / 10;
}
