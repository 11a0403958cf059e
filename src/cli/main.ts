#!/usr/bin/env node
/**
 * The `descent` command. Every subcommand has --help; any error ends with one line,
 * "descent: <what was wrong>", and a non-zero exit status.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { evalCommand } from './eval.js';
import { EXPORT_FORMATS, exportCommand, type ExportFlags } from './export.js';
import { importCommand, numberList, type ImportFlags } from './import.js';
import { gradcheckCommand } from './gradcheck.js';
import { classCount, fraction, imageSize, nonNegativeInt, optimizerKinds, port, positiveInt, positiveNumber, threadCount } from './options.js';
import { predictCommand } from './predict.js';
import { summaryCommand } from './summary.js';
import { trainCommand, type TrainFlags } from './train.js';
import { uiCommand } from '../ui/cli-ui.js';
import { presetNames } from '../models/presets.js';
import { DEFAULT_RECIPE, recipe, recipeNames } from '../train/recipes.js';

const engineOption = () => new Option('--engine <engine>', 'compute engine (auto: a real GPU through WebGPU if present, else wasm)')
  .choices(['auto', 'wasm', 'webgpu', 'reference']).default('auto');
const gpuAdapterOption = () => new Option('--gpu-adapter <adapter>',
  'WebGPU adapter: system (the GPU driver) or swiftshader (the CPU Vulkan driver of Debian\'s chromium: slow, for tests)')
  .choices(['system', 'swiftshader']);
const threadsOption = () => new Option('--threads <n>', 'threads for the fast engine (default: all cores)').argParser(threadCount);

// A reader that stops early (`descent eval … | head -c 1`) closes the pipe: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  fail(e);
});

function fail(e: unknown): never {
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`descent: ${message.split('\n')[0]}\n`);
  process.exit(1);
}

/** The package's version, from its package.json (dist/src/cli/ → the package root). */
const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const program = new Command('descent')
  .version(version, '-V, --version', 'print the version')
  .description('Train convolutional neural networks: back-propagation as the notes write it, a fast WebAssembly engine, a live dashboard.')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s.startsWith('error: ') ? `descent: ${s.slice(7)}` : s) });

program.command('train')
  .description('train a model (MNIST and LeNet-5 by default); checkpoints and the final model go to --out')
  .addOption(new Option('-r, --recipe <name>', `a whole set-up: ${recipeNames.map((n) => `${n} (${recipe(n).description})`).join('; ')}. ` +
    'Flags given beside it override its parts').choices(recipeNames).default(DEFAULT_RECIPE))
  .option('-m, --model <model>', `preset (${presetNames.join(', ')}) or JSON spec file (default: the recipe's)`)
  .option('-d, --data <source>', 'mnist | idx:<images>,<labels> | csv:<file> | folder:<dir> | cifar10:<dir>', 'mnist')
  .option('--test <source>', 'test data (MNIST and a CIFAR-10 folder use their test images by default)')
  .option('--classes <n>', 'number of classes (default: the largest label + 1, every class below it present)', classCount)
  .addOption(new Option('--color <mode>', 'channels of folder: images').choices(['grayscale', 'rgb']).default('grayscale'))
  .option('--image-size <size>', 'resize folder: images to <n> or <height>x<width> (area averaging down, bilinear up)', imageSize)
  .option('-e, --epochs <n>', 'epochs (default: the recipe\'s)', positiveInt)
  .option('-b, --batch-size <n>', 'mini-batch size B (1 = online learning; default: the recipe\'s)', positiveInt)
  .addOption(new Option('--optimizer <name>', 'optimizer (default: the recipe\'s; naming one drops the recipe\'s lr)').choices([...optimizerKinds]))
  .option('--lr <rate>', 'learning rate α (default: the recipe\'s, or with --optimizer the optimizer\'s: adam 0.001, sgd 0.01)', positiveNumber)
  .option('--momentum <m>', 'momentum (sgd, rmsprop)', positiveNumber)
  .option('--weight-decay <λ>', 'weight decay', positiveNumber)
  .option('--schedule <schedule>', 'constant | step:<epoch>,… (÷10 there) | exponential:<γ> | cosine[:<warm-up steps>] | onecycle[:<pct start>,<div>,<final div>] (peak --lr) | plateau[:<patience>] | adam-then-sgd[:<lr>] (default: the recipe\'s)')
  .option('--validation-split <f>', 'fraction of the training data held out for validation and early stopping (0: none; default: the recipe\'s)', fraction)
  .option('--patience <n>', 'early stopping: epochs without a better validation error (default: the recipe\'s)', nonNegativeInt)
  .option('--no-early-stopping', 'train all epochs (best weights are not restored)')
  .option('--augment <pixels>', 'random shifts of up to this many pixels (0: none; default: the recipe\'s)', nonNegativeInt)
  .option('--crop <padding>', 'random crops: pad each image with this many zeros, crop back to its size (CIFAR: 4)', nonNegativeInt, 0)
  .option('--flip', 'random horizontal flips (half of the images)')
  .option('--no-normalize', 'skip mean/std normalisation of the inputs')
  .option('--seed <n>', 'seed for initialisation, shuffling, dropout and ties', nonNegativeInt, 1)
  .option('--limit <n>', 'use only the first n training images', positiveInt)
  .option('--max-steps <n>', 'stop after this many steps', positiveInt)
  .option('--checkpoint-every <steps>', 'also checkpoint every so many steps (always: every epoch)', positiveInt)
  .addOption(engineOption())
  .addOption(gpuAdapterOption())
  .addOption(threadsOption())
  .option('-o, --out <dir>', 'output directory (default: runs/<date-time>)')
  .option('--resume <checkpoint>', 'continue from a checkpoint, with the flags it was started with, on the engine (and GPU adapter) ' +
    'it trained on; --engine continues elsewhere, not bitwise')
  .option('--ui', 'serve the live dashboard while training')
  .option('--json', 'JSON lines on stdout instead of the progress display')
  .action(async function (this: Command, flags: TrainFlags) {
    const explicit = new Set(Object.keys(flags).filter((k) => this.getOptionValueSource(k) === 'cli'));
    await trainCommand(flags, explicit);
  });

program.command('eval <model>')
  .description('accuracy, loss and confusion matrix of a saved model (.safetensors) on a dataset')
  .option('-d, --data <source>', 'mnist (its test split) | idx:<images>,<labels> | csv:<file> | folder:<dir> | cifar10:<dir> (test_batch.bin)', 'mnist')
  .addOption(engineOption())
  .addOption(gpuAdapterOption())
  .addOption(threadsOption())
  .option('--json', 'print JSON')
  .action((model: string, flags) => evalCommand(model, { json: false, ...flags }));

program.command('predict <model> <images...>')
  .description('class and top-3 probabilities for PNG or JPEG images')
  .option('--json', 'print JSON lines')
  .action((model: string, images: string[], flags) => predictCommand(model, images, { json: false, ...flags }));

program.command('summary <model>')
  .description('per-layer table (type, output shape, parameters) of a saved model, a preset or a spec file')
  .action((model: string) => summaryCommand(model));

program.command('gradcheck <model>')
  .description('finite-difference check of back-propagation on a preset or spec file (float64)')
  .option('--batch <n>', 'samples in the random batch', positiveInt, 2)
  .option('--max-weights <n>', 'coordinates of w (and of x) checked', positiveInt, 300)
  .option('--seed <n>', 'seed', nonNegativeInt, 1)
  .option('--json', 'print JSON')
  .action((model: string, flags) => gradcheckCommand(model, { json: false, ...flags }));

program.command('export <model>')
  .description('a saved model as ONNX (a file), TensorFlow.js or PyTorch (a folder), with its preprocessing')
  .addOption(new Option('-f, --format <format>', 'file format').choices([...EXPORT_FORMATS]).makeOptionMandatory())
  .requiredOption('-o, --out <path>', 'where to write: a .onnx file, or a folder for tfjs and pytorch')
  .option('--no-preprocessing', 'leave the preprocessing out of the model (it then takes preprocessed input)')
  .addOption(new Option('--layout <layout>', 'ONNX input axis order (default nhwc, as descent predict)').choices(['nhwc', 'nchw']))
  .option('--json', 'print JSON')
  .action((model: string, flags: ExportFlags) => exportCommand(model, { ...flags, json: flags.json ?? false }));

program.command('import <file>')
  .description('an ONNX file or a PyTorch state_dict (safetensors) as a Descent model file')
  .requiredOption('-o, --out <model>', 'the Descent model file to write (.safetensors)')
  .option('-a, --architecture <model>', `for a PyTorch state_dict: a preset (${presetNames.join(', ')}) or JSON spec file`)
  .option('--scale <s>', 'input preprocessing: scale (e.g. 0.00392156862745098 for pixels 0-255)', positiveNumber)
  .option('--mean <list>', 'input preprocessing: per-channel mean, comma-separated', numberList)
  .option('--std <list>', 'input preprocessing: per-channel standard deviation, comma-separated', numberList)
  .option('--json', 'print JSON')
  .action((file: string, flags: ImportFlags) => importCommand(file, { ...flags, json: flags.json ?? false }));

program.command('ui <run-dir>')
  .description('serve the dashboard of a finished or running run from its files, or compare the runs of a folder (descent ui runs/)')
  .option('--port <n>', 'port (default: any free one)', port, 0)
  .action(async (runDir: string, flags: { port: number }) => {
    const dashboard = await uiCommand(runDir, { port: flags.port });
    process.once('SIGINT', () => void dashboard.close());
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError && !(e instanceof InvalidArgumentError)) {
    // --help and --version end here too, successfully; usage errors were already printed on one line.
    // (An InvalidArgumentError reaching here was thrown by an action, after parsing: not yet printed.)
    process.exit(e.exitCode);
  }
  fail(e);
}
