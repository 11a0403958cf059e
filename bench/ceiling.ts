/**
 * The most a training step of a network could give on this machine at the time: the multiply-adds
 * the WebAssembly engine runs in one step (Winograd's elementwise products where the engine takes
 * Winograd, none for the first layer's input gradient), done at the speed of the tile probe on all
 * cores, with nothing else (transforms, packing, pooling, the optimizer, hand-offs between threads)
 * taking any time. A target above this ceiling cannot be met at that hour by any kernel.
 */
import { Sequential, type ArchitectureConfig } from '../src/network/sequential.js';
import { referenceEngine } from '../src/node/engine.js';
import type { Conv2dGeometry } from '../src/kernels/kernels.js';
import { winogradFits, winogradPays } from '../src/engine/winograd.js';

type ConvPass = 'conv2dForward' | 'conv2dBackwardData' | 'conv2dBackwardFilter';
type Counted = ConvPass | 'denseForward' | 'denseBackward';

/** Does the WebAssembly engine (convAlgorithm 'auto') run this pass of layer g as Winograd F(2×2, 3×3)? */
export function takesWinograd(pass: ConvPass, g: Conv2dGeometry): boolean {
  if ((g.G ?? 1) > 1 || !winogradFits(g)) return false;
  return pass === 'conv2dBackwardData' ? winogradPays(g.O, g.C, g.OH, g.OW) : winogradPays(g.C, g.O, g.OH, g.OW);
}

/** Multiply-adds ×2 per image of one kernel call, as the WebAssembly engine runs it. */
export function callProductFlops(name: Counted, args: unknown[]): number {
  if (name === 'denseForward' || name === 'denseBackward') {
    const [I, O] = args.slice(name === 'denseForward' ? 5 : 7) as number[];
    const products = name === 'denseForward' || args[3] === null ? 1 : 2; // denseBackward: gw, and gx unless null
    return products * 2 * I * O;
  }
  const g = args[name === 'conv2dBackwardData' ? 3 : 4] as Conv2dGeometry;
  if (!takesWinograd(name, g)) return 2 * g.OH * g.OW * g.O * g.KH * g.KW * (g.C / (g.G ?? 1));
  // F(2×2, 3×3): 16 products per 2×2 tile of the pass's output (backward-data's is the layer's input) per channel pair.
  const [h, w] = name === 'conv2dBackwardData' ? [g.H, g.W] : [g.OH, g.OW];
  return Math.ceil(h / 2) * Math.ceil(w / 2) * 16 * g.C * g.O * 2;
}

/** `kernels` with `seen(name, args)` called before each of its methods runs. */
export function watchedKernels<K extends object>(kernels: K, seen: (name: string, args: unknown[]) => void): K {
  return new Proxy(kernels, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        seen(String(key), args);
        return value.apply(target, args);
      };
    },
  });
}

/** Product flops per image of one training step (forward and back-propagation), counted from the calls a step makes. */
export function stepProductFlops(config: ArchitectureConfig): number {
  const engine = referenceEngine();
  let flops = 0;
  const counting = watchedKernels(engine.kernels, (name, args) => {
    if (/^(conv2d(Forward|BackwardData|BackwardFilter)|dense(Forward|Backward))$/.test(name)) flops += callProductFlops(name as Counted, args);
  });
  const net = Sequential.fromConfig(config, { seed: 1, arena: engine.arena, kernels: counting });
  net.gradient(net.inputBuffer(1), { labels: new Int32Array(1) }, 1);
  return flops;
}

/** Images/s of training at the ceiling: `tileGflops` (the probe on all cores at once) over the step's products. */
export function ceilingImagesPerSecond(config: ArchitectureConfig, tileGflops: number): number {
  return (tileGflops * 1e9) / stepProductFlops(config);
}
