/**
 * Evaluation on a dataset: the risk (mean cross-entropy, or the quadratic loss on one-hot targets), the zero-one error of the arg-max rule
 * (notes, section 1: correct when p falls in the decision region P_c), and the confusion matrix.
 */
import { check } from '../core/errors.js';
import type { Dataset } from '../data/dataset.js';
import { sizeOf } from '../core/shape.js';
import { argmaxRows, type Sequential } from '../network/sequential.js';
import { hostFloats } from '../core/tensor.js';
import type { LossKind } from '../losses/loss.js';

/** What `evaluate` measures on a dataset. */
export interface Evaluation {
  /** Mean loss: cross-entropy, or what `loss` asked for (the quadratic loss ||p − e_y||² per sample). */
  loss: number;
  /** Zero-one error: the fraction of samples whose arg max p is not the true class. */
  error: number;
  /** Fraction classified correctly (arg max p equals the label). */
  accuracy: number;
  /** Samples evaluated. */
  count: number;
  /** confusion[true][predicted]. */
  confusion: number[][];
}

/** Accuracy, mean loss (cross-entropy unless `loss` says) and the confusion matrix of `net` on `data`, in batches of `batchSize`. */
export function evaluate(net: Sequential, data: Dataset, batchSize = 256, loss: LossKind = 'cross_entropy'): Evaluation {
  const run = evaluation(net, data, batchSize);
  for (const { x, labels, n } of run.batches()) {
    const risk = net.risk(x, { labels }, n, loss);
    run.tally(risk, argmaxRows(hostFloats(net.activation(net.layers.length), 'evaluate'), n, run.E), n);
  }
  return run.result();
}

/** As evaluate, on every engine: on a device (WebGPU) each batch's loss and outputs are read back. */
export async function evaluateAsync(net: Sequential, data: Dataset, batchSize = 256,
  loss: LossKind = 'cross_entropy'): Promise<Evaluation> {
  const device = net.device;
  if (!device) return evaluate(net, data, batchSize, loss);
  const run = evaluation(net, data, batchSize);
  for (const { x, labels, n } of run.batches()) {
    net.recordLoss(x, { labels }, n, loss, false);
    const [risk, out] = await Promise.all([device.read(device.loss), net.readOutput(n)]);
    run.tally(risk[0], argmaxRows(out, n, run.E), n);
  }
  return run.result();
}

/** The batches of an evaluation (in the network's inference input) and the tally of their results. */
function evaluation(net: Sequential, data: Dataset, batchSize: number) {
  check(data.count > 0, 'cannot evaluate on 0 images: the accuracy of nothing is not 100%');
  const d = sizeOf(data.shape), E = sizeOf(net.outputShape);
  const B = Math.max(1, Math.min(batchSize, data.count));
  const labels = new Int32Array(B);
  const confusion = Array.from({ length: E }, () => new Array<number>(E).fill(0));
  let lossSum = 0, wrong = 0;
  return {
    E,
    *batches() {
      for (let start = 0; start < data.count; start += B) {
        const n = Math.min(B, data.count - start);
        const x = net.inferenceInput(B);
        x.set(data.x.subarray(start * d, (start + n) * d));
        labels.set(data.labels.subarray(start, start + n));
        yield { x, labels, n };
      }
    },
    tally(risk: number, classes: Int32Array, n: number): void {
      lossSum += risk * n;
      for (let i = 0; i < n; i++) {
        confusion[labels[i]][classes[i]]++;
        if (classes[i] !== labels[i]) wrong++;
      }
    },
    result(): Evaluation {
      const error = data.count ? wrong / data.count : 0;
      return { loss: data.count ? lossSum / data.count : 0, error, accuracy: 1 - error, count: data.count, confusion };
    },
  };
}
