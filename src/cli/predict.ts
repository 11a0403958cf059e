/** `descent predict <model> <image>...`: the class and the top-3 probabilities p for each image. */
import type { ImageShape } from '../data/dataset.js';
import { loadImageFile } from '../node/image-folder.js';
import { loadModel } from '../node/model-io.js';
import { percent } from './format.js';
import { modelInput, resizeOf } from './model-data.js';

export function predictCommand(modelPath: string, images: string[], flags: { json: boolean }): void {
  const { net, classNames, preprocessing } = loadModel(modelPath, { shareActivations: true });
  const prepare = modelInput(preprocessing, net, modelPath);
  const name = (c: number) => classNames?.[c] ?? String(c);
  for (const file of images) {
    const x = loadImageFile(file, { shape: net.inputShape as ImageShape, resize: resizeOf(preprocessing) !== undefined });
    prepare(x);
    const { p, classes } = net.predict(x, 1);
    const top = Array.from(p).map((v, c) => ({ class: name(c), p: v })).sort((a, b) => b.p - a.p).slice(0, 3);
    if (flags.json) process.stdout.write(`${JSON.stringify({ image: file, class: name(classes[0]), top })}\n`);
    else console.log(`${file}: ${name(classes[0])}  (${top.map((t) => `${t.class} ${percent(t.p, 1)}`).join(', ')})`);
  }
}
