/**
 * `descent predict` and `descent eval` feed a saved model what its preprocessing says, applied to
 * raw 0-255 pixels as in its exports (an import with `--scale 1` takes them as they are), not to
 * the [0, 1] values every loader produces.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { Dense, Flatten, Sequential, Softmax } from '../src/index.js';
import { saveModel } from '../src/node/model-io.js';
import { assertOneLineError, cliIn } from './cli-run.js';

const dir = mkdtempSync(join(tmpdir(), 'descent-model-input-'));
const descent = cliIn(dir);
after(() => rmSync(dir, { recursive: true, force: true }));

/** A 4×4 grayscale PNG with pixels 0, 17, 34, … 255; returns them as bytes. */
function writeGradientPng(file: string): number[] {
  const png = new PNG({ width: 4, height: 4 });
  const bytes = Array.from({ length: 16 }, (_, i) => i * 17);
  bytes.forEach((v, i) => png.data.set([v, v, v, 255], i * 4));
  writeFileSync(file, PNG.sync.write(png));
  return bytes;
}

const net = () => new Sequential([new Flatten(), new Dense({ outFeatures: 3 }), new Softmax()], { inputShape: [4, 4, 1], seed: 3 });

/** p for one image after x ↦ (x·scale − mean)/std on raw pixel bytes. */
function expected(bytes: number[], scale: number, mean = 0, std = 1): number[] {
  const x = Float32Array.from(bytes, (b) => (b * scale - mean) / std);
  return Array.from(net().predict(x, 1).p);
}

const predicted = (model: string, image: string): number[] => {
  const r = descent('predict', model, image, '--json');
  assert.equal(r.status, 0, r.stderr);
  const top = JSON.parse(r.stdout).top as Array<{ class: string; p: number }>;
  return [0, 1, 2].map((c) => top.find((t) => t.class === String(c))!.p);
};

const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) < 1e-6);

describe('a saved model gets the input its preprocessing describes', () => {
  const image = join(dir, 'gradient.png');
  const bytes = writeGradientPng(image);

  it('scale 1 (raw pixels), scale 1/255 and scale 2/255 with mean/std are each applied to the pixel bytes', () => {
    const cases: Array<[string, { scale?: number; mean?: number[]; std?: number[] }, number[]]> = [
      ['raw.safetensors', { scale: 1 }, expected(bytes, 1)],
      ['unit.safetensors', { scale: 1 / 255 }, expected(bytes, 1 / 255)],
      ['norm.safetensors', { scale: 2 / 255, mean: [0.5], std: [0.25] }, expected(bytes, 2 / 255, 0.5, 0.25)],
    ];
    // The cases must differ, or this test could not see a scale being ignored.
    assert.ok(!close(cases[0][2], cases[1][2]) && !close(cases[1][2], cases[2][2]));
    for (const [file, preprocessing, p] of cases) {
      saveModel(join(dir, file), net(), { preprocessing });
      const got = predicted(file, image);
      assert.ok(close(got, p), `${file}: predict gave ${got}, expected ${p}`);
    }
  });

  it('a model that records no preprocessing takes the raw pixels, as its exports do', () => {
    saveModel(join(dir, 'bare.safetensors'), net());
    assert.ok(close(predicted('bare.safetensors', image), expected(bytes, 1)));
  });

  it('a scale that is not a finite non-zero number is refused in one line', () => {
    saveModel(join(dir, 'zero.safetensors'), net(), { preprocessing: { scale: 0 } });
    assertOneLineError(descent('predict', 'zero.safetensors', image), /zero\.safetensors: preprocessing scale must be a finite non-zero number/);
  });
});
