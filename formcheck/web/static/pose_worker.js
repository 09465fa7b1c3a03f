// The pose model in a Web Worker, so the page stays responsive while a frame is detected (50-70 ms on a CPU).
// A classic worker, not a module one: tasks-vision loads its wasm loader with importScripts (in a module worker
// it would import it as a module, where the loader's `ModuleFactory` never becomes global); the library's own
// ES module comes in with import(). Every URL is this origin's (formcheck/web/routes.py).
//
// In:  {type: "init", bundle, wasm, model, delegate, masks}  {type: "frame", bitmap, t_ms, seq}  {type: "close"}
// Out: {type: "ready", loadMs}  {type: "error", message}  {type: "pose", seq, t_ms, people, image, world, mask,
//      detectMs}  {type: "closed"}  {type: "violation", uri, directive}
"use strict";

const N = 33;
const MAX_IMAGE = 10; // the server's bounds (formcheck/web/wire.py): a person outside them is not sent
const MAX_WORLD_M = 4;
let landmarker = null;
let masks = false;

self.addEventListener("securitypolicyviolation", (e) =>
  self.postMessage({type: "violation", uri: e.blockedURI, directive: e.effectiveDirective}));

self.onmessage = ({data}) => {
  if (data.type === "init") init(data);
  else if (data.type === "frame") detect(data);
  else if (data.type === "close") close();
};

async function init({bundle, wasm, model, delegate, masks: withMasks}) {
  const started = performance.now();
  try {
    const {FilesetResolver, PoseLandmarker} = await import(bundle);
    const files = await FilesetResolver.forVisionTasks(wasm);
    masks = withMasks;
    landmarker = await PoseLandmarker.createFromOptions(files, {
      baseOptions: {modelAssetPath: model, delegate},
      runningMode: "VIDEO", numPoses: 2, outputSegmentationMasks: withMasks,
    });
    self.postMessage({type: "ready", loadMs: performance.now() - started});
  } catch (e) {
    self.postMessage({type: "error", message: String((e && e.message) || e)});
  }
}

function detect({bitmap, t_ms, seq}) {
  if (!landmarker) { bitmap.close(); return; }
  const started = performance.now();
  let result;
  try {
    result = landmarker.detectForVideo(bitmap, t_ms);
  } catch (e) {
    bitmap.close();
    self.postMessage({type: "pose", seq, t_ms, people: 0, failed: String((e && e.message) || e),
                      detectMs: performance.now() - started});
    return;
  }
  const width = bitmap.width, height = bitmap.height;
  bitmap.close();
  try {
    const kept = [];
    for (let i = 0; i < Math.min(2, result.landmarks.length); i++)
      if (sane(result.landmarks[i], result.worldLandmarks[i])) kept.push(i);
    const image = new Float32Array(kept.length * N * 4), world = new Float32Array(kept.length * N * 3);
    kept.forEach((p, k) => {
      result.landmarks[p].forEach((l, j) => image.set([l.x, l.y, l.z, clamp01(l.visibility)], (k * N + j) * 4));
      result.worldLandmarks[p].forEach((l, j) => world.set([l.x, l.y, l.z], (k * N + j) * 3));
    });
    // the mask is the model's first person's: sent only when that person is the first one sent
    const mask = masks && kept[0] === 0 && result.segmentationMasks && result.segmentationMasks[0]
      ? rowRuns(result.segmentationMasks[0]) : null;
    const transfer = [image.buffer, world.buffer].concat(mask ? [mask.runs.buffer] : []);
    self.postMessage({type: "pose", seq, t_ms, width, height, people: kept.length, image, world, mask,
                      detectMs: performance.now() - started}, transfer);
  } finally {
    result.close();
  }
}

function sane(image, world) {
  if (!image || !world || image.length !== N || world.length !== N) return false;
  for (let j = 0; j < N; j++) {
    for (const v of [image[j].x, image[j].y, image[j].z]) if (!(Math.abs(v) <= MAX_IMAGE)) return false;
    for (const v of [world[j].x, world[j].y, world[j].z]) if (!(Math.abs(v) <= MAX_WORLD_M)) return false;
  }
  return true;
}

function clamp01(v) {
  return Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0;
}

function rowRuns(mask) {
  // mask > 0.5 as runs (row, x0, x1 exclusive), the wire's row runs
  const w = mask.width, h = mask.height, values = mask.getAsFloat32Array();
  const runs = [];
  for (let y = 0; y < h; y++) {
    let start = -1;
    for (let x = 0; x <= w; x++) {
      const inside = x < w && values[y * w + x] > 0.5;
      if (inside && start < 0) start = x;
      else if (!inside && start >= 0) { runs.push(y, start, x); start = -1; }
    }
  }
  return {w, h, runs: Uint16Array.from(runs)};
}

async function close() {
  // the library posts its usage log on close(): the page's policy refuses it (connect-src 'self'), and
  // the refusal comes back as a "violation" message before "closed"
  try { if (landmarker) landmarker.close(); } catch (e) { /* closing anyway */ }
  landmarker = null;
  await new Promise((resolve) => setTimeout(resolve, 300));
  self.postMessage({type: "closed"});
  self.close();
}
