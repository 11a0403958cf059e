/**
 * Give the event loop a turn, so commands (a UI's "÷10", Ctrl-C) reach a running trainer.
 * setImmediate where it exists (Node), a zero-delay timer elsewhere (browsers).
 */
const g = globalThis as { setImmediate?: (f: () => void) => void };

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (g.setImmediate ? g.setImmediate(resolve) : setTimeout(resolve, 0)));
}
