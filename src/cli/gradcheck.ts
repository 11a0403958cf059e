/**
 * `descent gradcheck <preset|spec>`: the finite-difference check of back-propagation on a model,
 * in float64, on random inputs and labels. Exits non-zero when ∂L/∂w or ∂L/∂x disagree.
 */
import { HeapArena } from '../core/arena.js';
import { DescentError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { sizeOf } from '../core/shape.js';
import { gradientCheck } from '../check/gradcheck.js';
import { Sequential } from '../network/sequential.js';
import { loadArchitecture } from './model-source.js';

export const GRADCHECK_TOLERANCE = 1e-6;

export function gradcheckCommand(model: string, flags: { batch: number; maxWeights: number; seed: number; json: boolean }): void {
  const net = Sequential.fromConfig(loadArchitecture(model), { arena: new HeapArena('float64'), seed: flags.seed });
  const rng = new Rng(flags.seed + 1);
  const N = flags.batch, E = sizeOf(net.outputShape);
  const x = Float64Array.from({ length: N * sizeOf(net.inputShape) }, () => rng.uniform());
  const target = net.defaultLoss === 'cross_entropy'
    ? { labels: Int32Array.from({ length: N }, () => rng.int(E)) }
    : { values: Float64Array.from({ length: N * E }, () => rng.normal()) };
  const r = gradientCheck(net, x, target, N, { maxWeights: flags.maxWeights, maxInputs: flags.maxWeights });
  const ok = r.weightError < GRADCHECK_TOLERANCE && r.inputError < GRADCHECK_TOLERANCE;
  if (flags.json) process.stdout.write(`${JSON.stringify({ model, ...r, tolerance: GRADCHECK_TOLERANCE, ok })}\n`);
  else {
    console.log(`gradient check of ${model} (${net.parameterCount.toLocaleString('en-US')} parameters, batch ${N}, float64, central differences):`);
    console.log(`  ∂L/∂w: relative error ${r.weightError.toExponential(2)} over ${r.weightsChecked} coordinates`);
    console.log(`  ∂L/∂x: relative error ${r.inputError.toExponential(2)} over ${r.inputsChecked} coordinates`);
    console.log(ok ? `  OK (tolerance ${GRADCHECK_TOLERANCE})` : `  FAILED (tolerance ${GRADCHECK_TOLERANCE})`);
  }
  if (!ok) throw new DescentError(`gradient check failed: errors ${r.weightError.toExponential(2)} (w), ${r.inputError.toExponential(2)} (x)`);
}
