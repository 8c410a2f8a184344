// Imports a profile file with speedscope's own importer and prints, as one
// JSON object on stdout, what speedscope's model made of it.
//
// Usage: node tests/consumers/speedscope_import.mjs [--stacks] FILE
//
// Test helper for rpprof's `-f speedscope` output (any format speedscope
// reads works: the importer picks one from the file's name and contents).
// The `speedscope` npm package ships no library entry point, only the web
// app's bundle (dist/release/speedscope-*.js, one IIFE). This script runs
// that bundle in a node vm context with the few browser globals its top-level
// code touches stubbed, stops it just before it renders the UI, and takes the
// promise of its import module (src/import/index.ts upstream), whose exports
// keep their names: importProfilesFromArrayBuffer is called with the file's
// name and bytes, which is what the app does with a dropped or fetched file;
// each profile is then demangled, as the app does before showing it.
//
// Where the package is: $SPEEDSCOPE_IMPORTER (the unpacked package's
// directory), else target/ci-tools/speedscope in this repository (what
// .ci/run installs).
//
// Output (exit 0): { file, importer, messages, name, profiles }; per profile:
// its name, weight unit, totalWeight (getTotalWeight) and its formatted form,
// samples (speedscope's own list: adjacent samples with the same stack are
// merged and zero-weight ones dropped by its builder), sampleWeight (their
// sum), frames (and how many have a file / line), and `timeline`: the
// profile's stacks in time order as its forEachCall walk (the "Time Order"
// view) sees them, run-length encoded by the root-most frame that is not a
// thread frame (one named like the profile, or "... (tid N)"), as
// [frame, stacks, weight]. With --stacks, `stacks` lists every stack in time
// order as ["root;...;leaf", weight].
// On failure: { file, error, messages } and exit 1; exit 2 for bad usage.

import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const fullStacks = args[0] === '--stacks';
if (fullStacks) args.shift();
if (args.length !== 1) {
  console.error('usage: node speedscope_import.mjs [--stacks] FILE');
  process.exit(2);
}
const file = args[0];
const pkgDir =
  process.env.SPEEDSCOPE_IMPORTER || path.join(here, '..', '..', 'target', 'ci-tools', 'speedscope');
const releaseDir = path.join(pkgDir, 'dist', 'release');
const bundleName = fs.existsSync(releaseDir) && fs.readdirSync(releaseDir).find((f) => /^speedscope-.*\.js$/.test(f));
if (!bundleName) {
  console.error(`speedscope_import: no speedscope package at ${pkgDir} (set SPEEDSCOPE_IMPORTER)`);
  process.exit(2);
}
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));

// The bundle, made to hand over its import module instead of rendering: the
// app's loader is `importProfileGroupFromBase64(...) { return (await M).import...`
// where M is the import module's promise; the UI starts at `console.log(speedscope v...`.
let src = fs.readFileSync(path.join(releaseDir, bundleName), 'utf8');
const importModule = src.match(/return\(await ([\w$]+)\)\.importProfileGroupFromBase64\(/);
const render = src.lastIndexOf('console.log(`speedscope v');
if (!importModule || render < 0) throw new Error(`${bundleName}: import module or UI start not found`);
src = `${src.slice(0, render)}globalThis.__importModule=${importModule[1]};return;${src.slice(render)}`;

// What speedscope prints while importing (it names the format it chose).
const messages = [];
const log = (level) => (...a) => messages.push(`${level}: ${a.map(String).join(' ')}`);
const fakeConsole = { log: log('log'), info: log('info'), warn: log('warn'), error: log('error'), time() {}, timeEnd() {}, assert: console.assert };
// Browser globals read by the bundle's top-level code (hash parameters,
// colour scheme) and by the importers (text decoding, gzip, wasm).
const window = {
  console: fakeConsole,
  location: { hash: '', protocol: 'file:', href: 'file:///speedscope/index.html' },
  localStorage: {},
  matchMedia: () => ({ matches: false, addListener() {}, addEventListener() {} }),
  navigator: { userAgent: 'node', platform: 'Linux' },
  TextDecoder, TextEncoder, URL, atob, btoa, WebAssembly, setTimeout, clearTimeout,
  DecompressionStream, Blob, Response,
};
window.window = window.self = window;
const ctx = vm.createContext(window);

let group, error;
try {
  vm.runInContext(src, ctx, { filename: bundleName });
  const imports = await ctx.__importModule;
  const bytes = fs.readFileSync(file);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  group = await imports.importProfilesFromArrayBuffer(path.basename(file), buffer);
  // The app's own checks after importing (application.tsx, loadProfile).
  if (group == null) error = 'Unrecognized format! See documentation about supported formats.';
  else if (group.profiles.length === 0) error = "Successfully imported profile, but it's empty!";
  else for (const profile of group.profiles) await profile.demangle();
} catch (e) {
  error = String(e && e.stack ? e.stack : e);
}
if (error) {
  process.stdout.write(compactJSON({ file, error, messages }) + '\n');
  process.exit(1);
}

const threadFrame = (name, profileName) => name === profileName || /\(tid \d+\)$/.test(name);

const profiles = group.profiles.map((profile) => {
  const name = profile.getName();
  // Stacks in time order, from speedscope's own walk of the profile.
  const stacks = [];
  const open = [];
  let last = 0;
  const flush = (value) => {
    if (value > last) stacks.push([open.map((node) => node.frame.name), value - last]);
    last = value;
  };
  profile.forEachCall(
    (node, value) => { flush(value); open.push(node); },
    (node, value) => { flush(value); open.pop(); }
  );
  const sampleWeight = profile.weights.reduce((a, b) => a + b, 0);
  flush(sampleWeight); // a trailing sample with no frames
  const timeline = [];
  for (const [frames, weight] of stacks) {
    const key = frames.find((f) => !threadFrame(f, name)) ?? '(no frames)';
    const run = timeline[timeline.length - 1];
    if (run && run[0] === key) { run[1]++; run[2] += weight; } else timeline.push([key, 1, weight]);
  }
  const frames = [];
  profile.forEachFrame((f) => frames.push(f));
  const out = {
    name,
    unit: profile.getWeightUnit(),
    totalWeight: profile.getTotalWeight(),
    totalFormatted: profile.formatValue(profile.getTotalWeight()),
    samples: profile.samples.length,
    sampleWeight,
    frames: { total: frames.length, withFile: frames.filter((f) => f.file).length, withLine: frames.filter((f) => f.line != null).length },
    timeline,
  };
  if (fullStacks) out.stacks = stacks.map(([f, w]) => [f.join(';'), w]);
  return out;
});

process.stdout.write(compactJSON({ file, importer: `${pkg.name}@${pkg.version}`, messages, name: group.name, profiles }) + '\n');

// JSON with one line per top-level key and per element of a top-level array.
function compactJSON(obj) {
  const body = Object.entries(obj).map(([k, v]) =>
    Array.isArray(v) && v.length
      ? ` ${JSON.stringify(k)}: [\n${v.map((x) => `  ${JSON.stringify(x)}`).join(',\n')}\n ]`
      : ` ${JSON.stringify(k)}: ${JSON.stringify(v)}`
  );
  return `{\n${body.join(',\n')}\n}`;
}
