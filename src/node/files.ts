/**
 * File access for the Node side: reading (transparently gunzipping `.gz` downloads) and atomic
 * writing, with errors that name the path. The core parsers take the resulting bytes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { DescentError } from '../core/errors.js';

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const known: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EISDIR: 'it is a directory',
    ENOTDIR: 'a parent is not a directory',
    ENOSPC: 'no space left on the device',
  };
  return (err.code && known[err.code]) ?? err.message ?? String(e);
}

/**
 * The most bytes Descent reads from one file, before or after gunzip: 1 GiB (EMNIST's largest
 * IDX file is 0.55 GB). A device like /dev/zero or a gzip bomb is refused instead of filling memory.
 */
export const MAX_FILE_BYTES = 2 ** 30;

const mib = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;

/** Read at most `limit` bytes (chunk by chunk, so pipes and devices are bounded too). */
function readBounded(file: string, limit: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const stat = fs.fstatSync(fd);
    if (stat.isDirectory()) throw Object.assign(new Error('it is a directory'), { code: 'EISDIR' });
    if (stat.isCharacterDevice() || stat.isBlockDevice()) throw new DescentError(`cannot read ${file}: it is a device, not a file`);
    if (stat.isFile() && stat.size > limit) throw new DescentError(`${file} is ${mib(stat.size)}: more than the ${mib(limit)} Descent reads from one file`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, limit + 1 - total));
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      total += n;
      if (total > limit) throw new DescentError(`${file} holds more than the ${mib(limit)} Descent reads from one file`);
    }
    return Buffer.concat(chunks, total);
  } finally {
    fs.closeSync(fd);
  }
}

/** A plain Uint8Array view of a Buffer, so callers get standard slice() semantics (a copy). */
function plain(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * The bytes of a file, gunzipped if they start with the gzip magic 1f 8b: detected by content
 * rather than by the `.gz` suffix, so a renamed file still works.
 */
export function readFileMaybeGzip(file: string, limit = MAX_FILE_BYTES): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = plain(readBounded(file, limit));
  } catch (e) {
    if (e instanceof DescentError) throw e;
    throw new DescentError(`cannot read ${file}: ${reason(e)}`);
  }
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return plain(gunzipSync(bytes, { maxOutputLength: limit }));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new DescentError(`${file} decompresses to more than the ${mib(limit)} Descent reads from one file`);
    }
    throw new DescentError(`cannot decompress ${file}: it starts like gzip but is not valid gzip (${(e as Error).message})`);
  }
}

/** A file's text (UTF-8), gunzipped if needed. */
export function readTextMaybeGzip(file: string): string {
  return new TextDecoder('utf-8').decode(readFileMaybeGzip(file));
}

/**
 * Write a file so that readers (and a crash) see either the old content or the new, never half
 * of it: write a temporary file in the same directory (a rename is atomic only within one file
 * system), flush it to disk, then rename it over the target.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const dir = path.dirname(path.resolve(file));
  removeStaleTemporaries(dir, path.basename(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'wx');
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // Nothing to clean up: the temporary file was never created, or was already renamed.
    }
    throw new DescentError(`cannot write ${file}: ${reason(e)}`);
  }
  // Flush the directory entry too, so the rename itself survives a power cut. Some platforms
  // (Windows) cannot open a directory: the file is written either way, so that is not an error.
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // See above.
  }
}

/** Is process `pid` alive on this machine? (EPERM: it exists, owned by someone else.) */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove the temporary files that writeFileAtomic left behind for `base` (default: any file) in `dir` when its process
 * was killed mid-write (`.<base>.<pid>.<random>.tmp`, the pid no longer running). Their content was
 * never the file's: the rename had not happened.
 */
export function removeStaleTemporaries(dir: string, base?: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const pattern = base === undefined ? /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/ : /^(\d+)\.[0-9a-f]{12}\.tmp$/;
  const prefix = base === undefined ? '' : `.${base}.`;
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const m = pattern.exec(name.slice(prefix.length));
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    try {
      fs.unlinkSync(path.join(dir, name));
    } catch {
      // Another process removed it first, or it cannot be removed: either way nothing is lost.
    }
  }
}
