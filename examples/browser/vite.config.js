// `npx vite build` bundles index.html and main.js into dist/ (relative paths: it can be served from
// any folder); the engine's WebAssembly and worker come embedded in descent-cnn's JavaScript.
export default { base: './', build: { target: 'es2022' } };
