/**
 * The README's library example runs as written: its TypeScript, stripped of types, run by Node
 * from inside the package (so that `descent-cnn/node` resolves to this build): it trains on 5,000
 * MNIST digits, saves and reloads the model.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { readmeLibrarySnippet } from './readme-snippet.js';

it('the README library snippet runs as written and trains to 90% test accuracy', { timeout: 180_000 }, () => {
  const tmp = fileURLToPath(new URL('../../.tmp/', import.meta.url));
  mkdirSync(tmp, { recursive: true });
  const dir = mkdtempSync(join(tmp, 'readme-'));
  try {
    const js = ts.transpileModule(readmeLibrarySnippet(), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    writeFileSync(join(dir, 'readme.mjs'), js);
    const r = spawnSync(process.execPath, ['readme.mjs'], { cwd: dir, encoding: 'utf8', timeout: 170_000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const accuracy = Number(/test accuracy ([\d.]+)/.exec(r.stdout)?.[1]);
    assert.ok(accuracy >= 0.9, r.stdout);
    assert.match(r.stdout, /Conv2d/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
