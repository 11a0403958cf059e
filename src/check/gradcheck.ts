/**
 * The finite-difference gradient check: back-propagation's ∂L/∂w and ∂L/∂x against central
 * differences (L(w + h e_j) - L(w - h e_j)) / 2h of the risk itself. Run it on a float64 network
 * (HeapArena('float64')) so the differences are tight; the generator is rewound before every
 * evaluation so dropout masks and tie-breaks stay fixed.
 */
import type { Floats } from '../core/floats.js';
import { sizeOf } from '../core/shape.js';
import type { LossKind, Target } from '../losses/loss.js';
import type { Sequential } from '../network/sequential.js';
import { relativeError } from './compare.js';
import { hostFloats } from '../core/tensor.js';

/** What gradientCheck found: the relative errors of ∂L/∂w and ∂L/∂x. */
export interface GradientCheckResult {
  /** ||analytic - numeric|| / (||analytic|| + ||numeric||) over the checked coordinates. */
  weightError: number;
  /** The same for ∂L/∂x. */
  inputError: number;
  /** How many coordinates of w and of x were checked. */
  weightsChecked: number;
  /** How many coordinates of x were checked. */
  inputsChecked: number;
}

/** What gradientCheck compares, and how. */
export interface GradientCheckOptions {
  /** The loss (default: the network's, cross-entropy after a Softmax). */
  loss?: LossKind;
  /** The finite-difference step (default 1e-5). */
  h?: number;
  /** Check at most this many coordinates of w (spread evenly); all by default. */
  maxWeights?: number;
  /** Check at most this many coordinates of x (spread evenly); all by default. */
  maxInputs?: number;
  /** Run in training mode (dropout on, batch statistics; default true). */
  training?: boolean;
}

/** Back-propagation's ∂L/∂w and ∂L/∂x against central differences of the risk, on N samples; use a float64 network. */
export function gradientCheck(net: Sequential, input: Floats, target: Target, N: number,
  options: GradientCheckOptions = {}): GradientCheckResult {
  const loss = options.loss ?? net.defaultLoss;
  const h = options.h ?? 1e-5;
  const training = options.training ?? true;
  const start = net.rng.state();
  const x = input.slice(0, N * sizeOf(net.inputShape));
  net.rng.setState(start);
  net.gradient(x, target, N, loss, { inputGradient: true, training });
  const analyticW = Float64Array.from(net.g);
  const analyticX = Float64Array.from(hostFloats(net.activationGradient(0), 'gradcheck').subarray(0, x.length));
  const risk = (): number => {
    net.rng.setState(start);
    return net.loss(x, target, N, loss, training).risk;
  };
  const numeric = (v: Floats, indices: number[]): Float64Array => {
    const out = new Float64Array(indices.length);
    indices.forEach((j, i) => {
      const old = v[j];
      v[j] = old + h;
      const plus = risk();
      v[j] = old - h;
      const minus = risk();
      v[j] = old;
      out[i] = (plus - minus) / (2 * h);
    });
    return out;
  };
  const wIdx = spread(net.w.length, options.maxWeights);
  const xIdx = spread(x.length, options.maxInputs);
  const numW = numeric(net.w, wIdx), numX = numeric(x, xIdx);
  net.rng.setState(start);
  return {
    weightError: relativeError(wIdx.map((j) => analyticW[j]), numW),
    inputError: relativeError(xIdx.map((j) => analyticX[j]), numX),
    weightsChecked: wIdx.length,
    inputsChecked: xIdx.length,
  };
}

function spread(length: number, max?: number): number[] {
  const count = Math.min(length, max ?? length);
  return Array.from({ length: count }, (_, i) => Math.floor((i * length) / count));
}
