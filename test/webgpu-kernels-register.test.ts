/**
 * The kernel tests of webgpu-kernels.test.ts again, with the GEMMs' register-tiled family (the one
 * the engine picks on a software adapter such as SwiftShader) in place of the shared-memory one.
 */
process.env.DESCENT_TEST_TILES = 'register';
await import('./webgpu-kernels.test.js');
