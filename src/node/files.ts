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

/** A plain Uint8Array view of a Buffer, so callers get standard slice() semantics (a copy). */
function plain(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * The bytes of a file, gunzipped if they start with the gzip magic 1f 8b: detected by content
 * rather than by the `.gz` suffix, so a renamed file still works.
 */
export function readFileMaybeGzip(file: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = plain(fs.readFileSync(file));
  } catch (e) {
    throw new DescentError(`cannot read ${file}: ${reason(e)}`);
  }
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return plain(gunzipSync(bytes));
  } catch (e) {
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
