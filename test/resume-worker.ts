/**
 * A separate process for the kill-and-resume test: `phase=first` trains until a step limit and
 * leaves a checkpoint; `phase=resume` loads it in a fresh process and finishes the run, writing w.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Trainer } from '../src/train/trainer.js';
import { patches, smallNet } from './synthetic.js';
import { resumeRunOptions } from './resume-options.js';

const [phase, checkpointPath, outPath, stopAt] = process.argv.slice(2);
const net = smallNet(21);
const data = patches(150, 3);
if (phase === 'first') {
  const trainer = new Trainer(net, {
    ...resumeRunOptions(),
    checkpointEvery: { steps: 1 },
    onCheckpoint: (bytes, where) => {
      writeFileSync(checkpointPath, bytes);
      if (where.step === Number(stopAt)) process.exit(0); // killed right after this checkpoint
    },
  });
  await trainer.fit(data);
  throw new Error('the first phase should have been killed');
} else {
  const trainer = new Trainer(net, resumeRunOptions());
  trainer.restore(readFileSync(checkpointPath), checkpointPath);
  await trainer.fit(data);
  writeFileSync(outPath, new Uint8Array(net.getWeights().buffer));
}
