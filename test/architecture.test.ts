/** The core library runs in a browser: nothing outside src/node, src/cli, src/ui/server and src/engine/node-* imports Node. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';

const root = new URL('../../src/', import.meta.url).pathname;
const nodeOnly = [/^node\//, /^cli\//, /^ui\//, /^engine\/node-/];

function files(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path, `${prefix}${name}/`) : [`${prefix}${name}`];
  });
}

it('core modules import no Node-only module', () => {
  const core = files(root).filter((f) => f.endsWith('.ts') && !nodeOnly.some((r) => r.test(f)));
  assert.ok(core.length > 20);
  for (const f of core) {
    const text = readFileSync(join(root, f), 'utf8');
    assert.doesNotMatch(text, /from ['"]node:|require\(|\bBuffer\.|process\./, `${f} uses a Node-only API`);
  }
});
