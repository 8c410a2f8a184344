// Loads a Firefox Profiler file with the Firefox Profiler's own code and
// prints, as one JSON object on stdout, what the profiler made of it.
//
// Usage: node tests/consumers/firefox_load.mjs FILE
//
// Test helper for rpprof's `-f firefox` output. The profiler's processing code
// is published on npm only inside `@firefox-devtools/profiler-cli` (one
// bundled file, dist/profiler-cli.js); this script runs that bundle in-process
// without starting its CLI, and calls its `loadProfileFromFileOrUrl`
// (src/profile-query/loader.ts upstream), which mirrors the web app when a file
// is dropped on it: unserializeProfileOfArbitraryFormat (format detection and
// the processed-profile upgraders), then loadProfile and finalizeProfileView on
// a real redux store (which computes the timeline's tracks). Symbolication is
// skipped (it needs a symbol server; rpprof's frames need none).
//
// The bundle is minified, so the few internal functions used below are found
// by text that their code contains (error strings and such), and the script
// fails loudly if a pinned version no longer has exactly one of each.
//
// Where the package is: $FIREFOX_PROFILER_LOADER (the unpacked package's
// directory), else target/ci-tools/profiler-cli in this repository (what
// .ci/run installs).
//
// Output (exit 0): { file, loader, messages, meta, tracks, threads }, where
//  - messages: what the loader printed (console.log/warn/error) while loading;
//  - tracks: the timeline's global tracks in the UI's order, with the names the
//    UI shows (getGlobalTrackName / getLocalTrackName upstream), whether the
//    UI hides them by default (idle threads), and their local tracks;
//  - threads[i].cpuMs: the CPU time the profiler computes (the selector
//    getThreadCPUTimeMs): threadCPUDelta summed from the SECOND sample on (the
//    first has no previous sample) and converted with meta.sampleUnits
//    ('µs' / 1000, 'ns' / 1e6); cpuMsAllSamples sums all of them instead;
//  - threads[i].cpuPercentMean: mean of the per-sample CPU % the activity graph
//    draws (computeThreadCPUPercent: delta / elapsed time, clamped to 100);
//    samplesOver100Percent: samples whose delta exceeds the time elapsed
//    since the previous sample (clamped in the graph);
//  - threads[i].funcs / frames: over the functions and frames this thread's
//    samples reach, how many have a source file, a line number (funcTable)
//    and a line (frameTable). Since processed format v75 these "nullable"
//    columns are bit flags: funcTable.flags 8 = source, 16 = lineNumber;
//    frameTable.flags 16 = line (the upgraders to v71 and v75 upstream).
// On failure: { file, error, messages } and exit 1; exit 2 for bad usage.

import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const file = process.argv[2];
if (!file || process.argv.length > 3) {
  console.error('usage: node firefox_load.mjs FILE');
  process.exit(2);
}
const pkgDir =
  process.env.FIREFOX_PROFILER_LOADER ||
  path.join(here, '..', '..', 'target', 'ci-tools', 'profiler-cli');
if (!fs.existsSync(path.join(pkgDir, 'package.json'))) {
  console.error(`firefox_load: no @firefox-devtools/profiler-cli at ${pkgDir} (set FIREFOX_PROFILER_LOADER)`);
  process.exit(2);
}
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
const bundlePath = path.join(pkgDir, pkg.main);

// Run the bundle as a script of this context, so that its top-level functions
// become globals; its last statement starts the CLI, which is left out.
let src = fs.readFileSync(bundlePath, 'utf8').replace(/^#!.*/, '');
const mainCall = /[\w$]+\(\)\.catch\(e=>\{console\.error\(`Fatal error: \$\{e\}`\),process\.exit\(1\)\}\);\s*(\/\*[\s\S]*)?$/;
if (!mainCall.test(src)) throw new Error(`${bundlePath}: the CLI's start call was not found`);
src = src.replace(mainCall, '');
Object.assign(globalThis, {
  require: createRequire(bundlePath),
  module: { exports: {} },
  __filename: bundlePath,
  __dirname: path.dirname(bundlePath),
});
const before = new Set(Object.getOwnPropertyNames(globalThis));
vm.runInThisContext(src, { filename: bundlePath });
const added = Object.getOwnPropertyNames(globalThis).filter((n) => !before.has(n));

// The one function (or, with `result`, the one reselect selector whose result
// function) whose code contains all the needles.
function find(what, needles, { result = false } = {}) {
  const hits = added.filter((n) => {
    let f = globalThis[n];
    if (result) f = typeof f === 'function' ? f.resultFunc : undefined;
    if (typeof f !== 'function') return false;
    const code = Function.prototype.toString.call(f);
    return needles.every((s) => code.includes(s));
  });
  if (hits.length !== 1) throw new Error(`${bundlePath}: ${hits.length} candidates for ${what}`);
  return globalThis[hits[0]];
}
const loadProfileFromFileOrUrl = find('loadProfileFromFileOrUrl', ['Loading profile from', 'skipSymbolication']);
const getGlobalTrackName = find('getGlobalTrackName', ['Unhandled GlobalTrack type.', 'Process ']);
const getLocalTrackName = find('getLocalTrackName', ['Unhandled LocalTrack type.', ' Event Delay']);
const getThreadCPUTimeMs = find('getThreadCPUTimeMs', ['slice(1).reduce', 'variable CPU cycles'], { result: true });
const computeReferenceCPUDeltaPerMs = find('computeReferenceCPUDeltaPerMs', ['Unhandled threadCPUDelta unit in computeReferenceCPUDeltaPerMs']);
const computeThreadCPUPercent = find('computeThreadCPUPercent', ['Math.round(100*', 'new Uint8Array(']);

// Load, keeping what the loader prints.
const messages = [];
const saved = { log: console.log, info: console.info, warn: console.warn, error: console.error };
for (const level of Object.keys(saved)) console[level] = (...a) => messages.push(`${level}: ${a.map(String).join(' ')}`);
let store;
try {
  ({ store } = await loadProfileFromFileOrUrl(path.resolve(file), { skipSymbolication: true }));
} catch (e) {
  Object.assign(console, saved);
  process.stdout.write(compactJSON({ file, error: String(e && e.stack ? e.stack : e), messages }) + '\n');
  process.exit(1);
}
Object.assign(console, saved);

const state = store.getState();
const profile = state.profileView.profile;
const { threads, shared, meta } = profile;
const counters = profile.counters || [];
const urlProfile = state.urlState.profileSpecific;
const { globalTracks, localTracksByPid } = state.profileView;

// Tracks as the timeline lists them.
const trackOf = new Map(); // threadIndex -> its track
const tracks = urlProfile.globalTrackOrder.map((g) => {
  const track = globalTracks[g];
  const name = getGlobalTrackName(track, threads);
  const hidden = urlProfile.hiddenGlobalTracks.has(g);
  const out = { name, type: track.type, hidden };
  if (track.type !== 'process') return out;
  out.pid = track.pid;
  out.mainThread = track.mainThreadIndex;
  if (track.mainThreadIndex !== null) trackOf.set(track.mainThreadIndex, { kind: 'global', name, hidden });
  const locals = localTracksByPid.get(track.pid) || [];
  const hiddenLocals = urlProfile.hiddenLocalTracksByPid.get(track.pid) || new Set();
  const order = urlProfile.localTrackOrderByPid.get(track.pid) || locals.map((_, i) => i);
  out.local = order.map((l) => {
    const lt = locals[l];
    const local = { name: getLocalTrackName(lt, threads, shared, counters), type: lt.type, hidden: hidden || hiddenLocals.has(l) };
    if (lt.type === 'thread') {
      local.thread = lt.threadIndex;
      trackOf.set(lt.threadIndex, { kind: 'local', name: local.name, hidden: local.hidden, processTrack: name });
    }
    return local;
  });
  return out;
});

// Per-thread numbers.
const cpuMs = getThreadCPUTimeMs(state);
const refPerMs = computeReferenceCPUDeltaPerMs(profile);
const cpuUnitToMs = { 'µs': 1 / 1000, ns: 1 / 1e6 }[meta.sampleUnits?.threadCPUDelta] ?? null;
const { stackTable, frameTable, funcTable } = shared;
const hasFlags = Array.isArray(funcTable.flags) || ArrayBuffer.isView(funcTable.flags);
const strings = shared.stringArray || shared.stringTable?._array || [];
const funcName = (f) => strings[funcTable.name[f]] ?? String(funcTable.name[f]);
const filled = (table, column, bit, i) => (hasFlags ? (table.flags[i] & bit) !== 0 : table[column][i] != null);

const threadsOut = threads.map((t, i) => {
  const s = t.samples;
  const weights = s.weight || null;
  // Frames and functions reached by this thread's samples (prefix = i - prefixOffset).
  const stacks = new Set();
  for (let k = 0; k < s.length; k++) {
    for (let st = s.stack[k]; st !== null && st !== undefined && !stacks.has(st); ) {
      stacks.add(st);
      const off = stackTable.prefixOffset ? stackTable.prefixOffset[st] : null;
      st = stackTable.prefixOffset ? (off === 0 ? null : st - off) : stackTable.prefix[st];
    }
  }
  const frames = new Set([...stacks].map((st) => stackTable.frame[st]));
  const funcs = new Set([...frames].map((f) => frameTable.func[f]));
  const count = (set, pred) => [...set].filter(pred).length;
  const out = {
    index: i,
    name: t.name,
    track: trackOf.get(i) || null,
    isMainThread: t.isMainThread,
    processName: t.processName,
    pid: t.pid,
    tid: t.tid,
    samples: s.length,
    zeroWeightSamples: weights ? weights.filter((w) => w === 0).length : 0,
    emptyStackSamples: s.stack.filter((x) => x === null).length,
    weightType: s.weightType || 'samples',
    cpuMs: cpuMs ? cpuMs[i] : null,
  };
  if (s.threadCPUDelta && cpuUnitToMs !== null) {
    const d = s.threadCPUDelta;
    out.cpuMsAllSamples = d.reduce((a, x) => a + (x ?? 0), 0) * cpuUnitToMs;
    const timeDeltas = s.timeDeltas || s.time.map((x, k) => (k ? x - s.time[k - 1] : x));
    const pct = computeThreadCPUPercent(d, timeDeltas, refPerMs);
    let sum = 0, over = 0, max = 0;
    for (let k = 1; k < s.length; k++) {
      sum += pct[k];
      const raw = timeDeltas[k] > 0 && d[k] !== null ? (100 * d[k]) / (refPerMs * timeDeltas[k]) : 100;
      if (raw > 100.5) over++;
      max = Math.max(max, raw);
    }
    out.cpuPercentMean = s.length > 1 ? +(sum / (s.length - 1)).toFixed(1) : null;
    out.samplesOver100Percent = over;
    out.maxCpuPercentUnclamped = Math.round(max);
  }
  out.funcs = {
    total: funcs.size,
    withFileName: count(funcs, (f) => filled(funcTable, 'source', 8, f)),
    withLineNumber: count(funcs, (f) => filled(funcTable, 'lineNumber', 16, f)),
    // The names of those without a file (rpprof's markers, `[idle] ...`, have none).
    namesWithoutFile: [...funcs].filter((f) => !filled(funcTable, 'source', 8, f)).map(funcName),
  };
  out.frames = { total: frames.size, withLine: count(frames, (f) => filled(frameTable, 'line', 16, f)) };
  return out;
});

const result = {
  file,
  loader: `${pkg.name}@${pkg.version}`,
  messages,
  meta: {
    product: meta.product,
    preprocessedProfileVersion: meta.preprocessedProfileVersion,
    interval: meta.interval,
    sampleUnits: meta.sampleUnits || null,
    symbolicated: meta.symbolicated,
    sources: shared.sources ? shared.sources.length : null,
  },
  tracks,
  threads: threadsOut,
};
process.stdout.write(compactJSON(result) + '\n');

// JSON with one line per top-level key and per element of a top-level array.
function compactJSON(obj) {
  const body = Object.entries(obj).map(([k, v]) =>
    Array.isArray(v) && v.length
      ? ` ${JSON.stringify(k)}: [\n${v.map((x) => `  ${JSON.stringify(x)}`).join(',\n')}\n ]`
      : ` ${JSON.stringify(k)}: ${JSON.stringify(v)}`
  );
  return `{\n${body.join(',\n')}\n}`;
}
