/** The README's library example: the first ```ts block under "## The library", as written. */
import { readFileSync } from 'node:fs';

export function readmeLibrarySnippet(): string {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## The library'));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md: no ```ts block under "## The library"');
  return block[1];
}
