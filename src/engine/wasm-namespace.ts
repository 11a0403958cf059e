/**
 * The WebAssembly names this package's declarations use, declared (empty, so they merge with the
 * DOM lib's full ones) for TypeScript programs that have neither the DOM lib nor a @types/node
 * that declares them: without this, importing `descent-cnn/node` there fails with TS2503.
 */
declare global {
  namespace WebAssembly {
    interface Module {}
    interface Memory {}
  }
}
export {};
