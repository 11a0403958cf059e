// Trains LeNet-5 on MNIST in the page with the fast engine, plots the loss live, then classifies
// what you draw. Query options: ?train=4000&epochs=1 (defaults: every digit in mnist-subset.bin, 2 epochs).
import { createDataset, createEngine, evaluate, preset, scaleToUnit, Sequential, Trainer } from 'descent-cnn/browser';

const $ = (id) => document.getElementById(id);
const query = new URLSearchParams(location.search);
const status = (text) => { $('status').textContent = text; };

/** mnist-subset.bin (written by make-data.mjs) as two datasets. */
async function loadDigits() {
  const response = await fetch(new URL('./mnist-subset.bin', import.meta.url));
  if (!response.ok) throw new Error('mnist-subset.bin is missing: run `node make-data.mjs` first');
  const bytes = new Uint8Array(await response.arrayBuffer());
  const [trainCount, testCount] = new Uint32Array(bytes.buffer, 0, 2);
  let at = 8;
  const take = (n) => bytes.subarray(at, (at += n));
  const part = (count) => {
    const x = scaleToUnit(take(count * 784));
    return createDataset({ x, labels: Int32Array.from(take(count)), shape: [28, 28, 1], classes: 10 });
  };
  const train = part(trainCount);
  return { train: limit(train, Number(query.get('train') ?? trainCount)), test: part(testCount) };
}

const limit = (ds, n) => ({ ...ds, count: n, x: ds.x.subarray(0, n * 784), labels: ds.labels.subarray(0, n) });

/** The loss of every step, drawn as a line (log scale). */
function plotLoss(losses) {
  const c = $('loss').getContext('2d'), { width, height } = c.canvas;
  c.clearRect(0, 0, width, height);
  c.beginPath();
  losses.forEach((loss, i) => {
    const y = height * (1 - Math.log10(loss / 0.01) / Math.log10(300));
    c.lineTo((i / Math.max(1, losses.length - 1)) * width, Math.min(height, Math.max(0, y)));
  });
  c.stroke();
  c.fillText(`L_T per step: ${losses.at(-1)?.toFixed(3)}`, 8, 14);
}

async function train() {
  const { train, test } = await loadDigits();
  const engine = await createEngine();                           // threads where cross-origin isolated, else one
  const net = Sequential.fromConfig(preset('lenet5'), { engine, seed: 1 });
  const epochs = Number(query.get('epochs') ?? 2);
  const trainer = new Trainer(net, { epochs, batchSize: 64, optimizer: { kind: 'adam', lr: 2e-3 } });
  const losses = [];
  trainer.on('step', (e) => {
    losses.push(e.loss);
    if (e.stepInEpoch % 5 === 0) plotLoss(losses);
    status(`training on ${train.count} digits, engine ${engine.name} on ${engine.threads} thread(s): ` +
      `epoch ${e.epoch + 1}/${epochs}, step ${e.stepInEpoch}/${e.stepsPerEpoch}`);
  });
  await trainer.fit(train);
  plotLoss(losses);
  const { accuracy } = evaluate(net, test);
  status(`test accuracy ${(100 * accuracy).toFixed(1)}% on ${test.count} digits — now draw one`);
  return { net, result: { accuracy, threads: engine.threads, isolated: crossOriginIsolated, steps: losses.length } };
}

/** The drawing as a 28×28 MNIST-like image: the ink's bounding box scaled into 20×20, centred. */
function drawnDigit() {
  const pad = $('pad'), ink = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height).data;
  let [x0, y0, x1, y1] = [pad.width, pad.height, -1, -1];
  for (let i = 0; i < ink.length; i += 4) {
    if (ink[i] < 64) continue;
    const x = (i / 4) % pad.width, y = Math.floor(i / 4 / pad.width);
    [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
  }
  const small = document.createElement('canvas');
  small.width = small.height = 28;
  const c = small.getContext('2d');
  if (x1 >= 0) {
    const s = 20 / Math.max(x1 - x0 + 1, y1 - y0 + 1), w = (x1 - x0 + 1) * s, h = (y1 - y0 + 1) * s;
    c.drawImage(pad, x0, y0, x1 - x0 + 1, y1 - y0 + 1, 14 - w / 2, 14 - h / 2, w, h);
  }
  const rgba = c.getImageData(0, 0, 28, 28).data;
  return Float32Array.from({ length: 784 }, (_, i) => rgba[4 * i] / 255);
}

/** p as ten bars, the arg max highlighted. */
function showPrediction(net) {
  const { p, classes } = net.predict(drawnDigit(), 1);
  $('predicted').textContent = String(classes[0]);
  const c = $('p').getContext('2d'), { width, height } = c.canvas, bar = width / 10;
  c.clearRect(0, 0, width, height);
  p.forEach((v, k) => {
    c.fillStyle = k === classes[0] ? '#c33' : '#36c';
    c.fillRect(k * bar + 4, height - 20 - v * (height - 40), bar - 8, v * (height - 40));
    c.fillStyle = '#000';
    c.fillText(String(k), k * bar + bar / 2 - 3, height - 6);
  });
}

function enableDrawing(net) {
  const pad = $('pad'), c = pad.getContext('2d');
  let down = false;
  c.lineWidth = 22; c.lineCap = 'round'; c.strokeStyle = '#fff';
  pad.onpointerdown = (e) => { down = true; c.beginPath(); c.moveTo(e.offsetX, e.offsetY); };
  pad.onpointermove = (e) => { if (down) { c.lineTo(e.offsetX, e.offsetY); c.stroke(); showPrediction(net); } };
  pad.onpointerup = pad.onpointerleave = () => { down = false; };
  $('clear').onclick = () => c.clearRect(0, 0, pad.width, pad.height);
}

// window.example lets a test wait for the run and read the accuracy.
window.example = train().then(({ net, result }) => { enableDrawing(net); return result; })
  .catch((e) => { status(`failed: ${e.message}`); return { error: String(e) }; });
