/**
 * What `descent train` shows while it runs: a progress bar per epoch (step, loss, accuracy,
 * images/s, ETA) on a terminal, one summary line per epoch, and learning-rate changes as they
 * happen. With --json, one JSON object per line instead, for scripts.
 */
import cliProgress from 'cli-progress';
import type { Trainer } from '../train/trainer.js';
import { percent } from './format.js';

export function attachProgress(trainer: Trainer, options: { json: boolean; epochs: number; out: NodeJS.WriteStream }): void {
  const { json, epochs, out } = options;
  const print = (line: string) => out.write(`${line}\n`);
  if (json) {
    trainer.on('epoch', (e) => print(JSON.stringify(e)));
    trainer.on('lr', (e) => print(JSON.stringify(e)));
    trainer.on('warning', (e) => print(JSON.stringify(e)));
    trainer.on('end', (e) => print(JSON.stringify(e)));
    return;
  }
  const tty = Boolean(out.isTTY);
  let bar: cliProgress.SingleBar | null = null;
  trainer.on('step', (e) => {
    if (!tty) return;
    if (!bar) {
      bar = new cliProgress.SingleBar({
        stream: out, hideCursor: true, clearOnComplete: true, etaBuffer: 50,
        format: `epoch ${e.epoch + 1}/${epochs} [{bar}] {value}/{total} | loss {loss} | acc {acc} | {ips} img/s | ETA {eta_formatted}`,
      }, cliProgress.Presets.shades_classic);
      bar.start(e.stepsPerEpoch, 0, { loss: '-', acc: '-', ips: '-' });
    }
    bar.update(e.stepInEpoch, { loss: e.loss.toFixed(4), acc: percent(1 - e.error, 1), ips: Math.round(e.imagesPerSecond).toLocaleString('en-US') });
  });
  const closeBar = () => {
    if (bar) bar.stop();
    bar = null;
  };
  trainer.on('epoch', (e) => {
    closeBar();
    const val = e.valError !== undefined ? ` | val loss ${e.valLoss!.toFixed(4)} acc ${percent(1 - e.valError)}` : '';
    const es = e.bestEpoch !== undefined ? ` | best ${e.bestEpoch}, patience ${e.patienceLeft}` : '';
    print(`epoch ${String(e.epoch).padStart(String(epochs).length)}/${epochs} | loss ${e.loss.toFixed(4)} acc ${percent(1 - e.error)}${val}` +
      ` | lr ${e.lr.toPrecision(3)} | step ${e.stepSize.toPrecision(3)} | ${Math.round(e.imagesPerSecond).toLocaleString('en-US')} img/s | ${e.seconds.toFixed(1)} s${es}`);
  });
  trainer.on('lr', (e) => {
    closeBar();
    print(`learning rate ${e.from.toPrecision(3)} → ${e.to.toPrecision(3)} (${e.source}${e.optimizer ? `, now ${e.optimizer}` : ''}) at step ${e.step}`);
  });
  trainer.on('warning', (e) => {
    closeBar();
    print(`warning: ${e.message}`);
  });
  trainer.on('pause', () => print('paused'));
  trainer.on('resume', () => print('resumed'));
  trainer.on('end', (e) => {
    closeBar();
    print(`stopped: ${e.message}`);
  });
}
