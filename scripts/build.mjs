#!/usr/bin/env node
/**
 * `npm run build` (also `prepare`, so `npm ci`, `npm pack` and git installs build): the WebAssembly
 * engine with AssemblyScript, the TypeScript with tsc, then the browser engine's embedded assets.
 * Each step is skipped when its outputs are newer than its inputs, so the build that `npm test` and
 * `npm start` run right after `npm ci` (whose prepare built everything) costs a fraction of a second. Plain Node: works on Windows too.
 * `--wasm-only` builds only the WebAssembly modules.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const at = (...p) => join(root, ...p);

/** Newest modification time of the files under `dir` (recursively) whose names end in one of `exts`. */
function newest(dir, exts) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) t = Math.max(t, newest(p, exts));
    else if (exts.some((e) => entry.name.endsWith(e))) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : -1);

const COMMON = ['-O3', '--runtime', 'stub', '--enable', 'simd', '--importMemory'];
const MODULES = [
  { entry: 'assembly/index.ts', out: 'dist/wasm/descent.wasm', args: ['--noAssert', '--enable', 'threads', '--sharedMemory', '--maximumMemory', '65536'] },
  { entry: 'assembly/index.ts', out: 'dist/wasm/descent-single.wasm', args: ['--noAssert'] },
  { entry: 'assembly/probe.ts', out: 'dist/wasm/probe.wasm', args: [] },
];

async function buildWasm() {
  // The kernels' parameter words are declared in src/engine/kernel-params.ts, shared with the TypeScript.
  const sources = Math.max(newest(at('assembly'), ['.ts']), mtime(at('src/engine/kernel-params.ts')),
    mtime(fileURLToPath(import.meta.url)));
  const stale = MODULES.filter((m) => mtime(at(m.out)) < sources);
  if (stale.length === 0) return;
  const asc = (await import('assemblyscript/asc')).default;
  mkdirSync(at('dist/wasm'), { recursive: true });
  for (const m of stale) {
    const { error, stderr } = await asc.main([at(m.entry), ...COMMON, ...m.args, '--outFile', at(m.out)]);
    if (error) throw new Error(`asc ${m.entry} → ${m.out} failed: ${error.message}\n${stderr.toString()}`);
  }
}

/** Written after a successful tsc and embed: nothing newer than it means nothing to do. */
const MARK = at('dist/.build-ok');

function typeScriptUpToDate() {
  const inputs = Math.max(...['src', 'test', 'bench'].map((d) => newest(at(d), ['.ts'])), mtime(at('tsconfig.json')),
    mtime(at('dist/wasm/descent.wasm')), mtime(at('dist/wasm/descent-single.wasm')), mtime(fileURLToPath(import.meta.url)));
  return mtime(MARK) > inputs;
}

function buildTypeScript() {
  // tsc --incremental: a rebuild re-checks only what changed.
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', at('tsconfig.json')], { stdio: 'inherit', cwd: root });
}

async function embedBrowserAssets() {
  const { writeEmbeddedEngine } = await import('./embed-engine.mjs');
  await writeEmbeddedEngine(root);
}

try {
  await buildWasm();
  if (!process.argv.includes('--wasm-only') && !typeScriptUpToDate()) {
    rmSync(MARK, { force: true });
    buildTypeScript();
    await embedBrowserAssets();
    writeFileSync(MARK, '');
  }
} catch (e) {
  process.stderr.write(`build: ${e.message}\n`);
  process.exit(1);
}
