// Trains LeNet-5 on MNIST with the fast engine, reports the test accuracy, saves the model and loads it back.
//   node train.mjs [training images (default 60000)] [epochs (default 3)] [model file (default lenet5.safetensors)]
import {
  createEngine, evaluate, loadMnist, loadModel, preset, saveModel, Sequential, subset, Trainer,
} from 'descent-cnn/node';

const [limit = 60000, epochs = 3] = process.argv.slice(2, 4).map(Number);
const file = process.argv[4] ?? 'lenet5.safetensors';

const all = loadMnist({ split: 'train' });                      // [28, 28, 1] images in [0, 1], labels 0..9
const train = subset(all, Array.from({ length: Math.min(limit, all.count) }, (_, i) => i));
const test = loadMnist({ split: 'test' });

const engine = await createEngine();                            // WebAssembly SIMD on every core
const net = Sequential.fromConfig(preset('lenet5'), { engine, seed: 1 });
const trainer = new Trainer(net, { epochs, batchSize: 64, optimizer: { kind: 'adam', lr: 1e-3 } });
trainer.on('epoch', (e) => console.log(`epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, ${Math.round(e.imagesPerSecond)} images/s`));
await trainer.fit(train);

const { accuracy } = evaluate(net, test);
console.log(`test accuracy ${(100 * accuracy).toFixed(2)}% on ${test.count} images (engine ${engine.name}, ${engine.threads} threads)`);
saveModel(file, net, { classNames: test.classNames });
const reloaded = loadModel(file).net;                           // the reference kernels: no engine needed to predict
console.log(`saved ${file}; reloaded, it predicts ${reloaded.predict(test.x.subarray(0, 784), 1).classes[0]} for a ${test.labels[0]}`);
await engine.dispose();
