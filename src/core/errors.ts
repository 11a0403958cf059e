/**
 * Errors that tell a user what was wrong and where (layer index, shapes, file, flag),
 * instead of a stack trace from deep inside a kernel.
 */
export class DescentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DescentError';
  }
}

/** A network that does not fit together, reported when it is built. */
export class ShapeError extends DescentError {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

/** Throw a DescentError unless `condition` holds. */
export function check(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new DescentError(typeof message === 'string' ? message : message());
}

/** A message from elsewhere (JSON.parse quotes the input, newlines included) as part of one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ');
}
