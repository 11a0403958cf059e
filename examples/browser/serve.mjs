// A static server for the example pages: node serve.mjs [folder (default .)] [--isolated] [--port N].
// --isolated sends COOP + COEP, which makes the page cross-origin isolated: the engine then runs threads.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';

const args = process.argv.slice(2);
const isolated = args.includes('--isolated');
const portAt = args.indexOf('--port');
const port = portAt >= 0 ? Number(args[portAt + 1]) : 0;
const root = resolve(args.find((a, i) => !a.startsWith('--') && (portAt < 0 || i !== portAt + 1)) ?? '.');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };

createServer(async (req, res) => {
  const path = normalize(join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname)));
  if (!path.startsWith(root)) return res.writeHead(403).end();
  if (isolated) {
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  }
  try {
    const file = path.endsWith('/') || extname(path) === '' ? join(path, 'index.html') : path;
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
  } catch {
    res.writeHead(404).end('not found');
  }
}).listen(port, '127.0.0.1', function () {
  console.log(`http://127.0.0.1:${this.address().port}/ (${isolated ? 'cross-origin isolated' : 'not isolated'})`);
});
