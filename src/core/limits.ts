/**
 * The sizes Descent accepts from files and specs, checked before anything is allocated: a
 * corrupted or hostile input is refused with a clear message instead of exhausting memory.
 * Each is far above any network or dataset this library trains (LeNet-5 has 61,706 parameters).
 */

/** Layers in one network. */
export const MAX_LAYERS = 1000;

/** Parameters in one network: 2^28 float32 values, 1 GiB for w (and as much again for ∂L/∂w). */
export const MAX_PARAMETERS = 2 ** 28;

/** Values in one sample's activation at any layer (an image of 4096×4096×1, say). */
export const MAX_SAMPLE_VALUES = 2 ** 24;

/** Classes of a classifier (the labels of a dataset). */
export const MAX_CLASSES = 100_000;

/** Nesting depth of a JSON value describing a network (a layer option is at depth 3 or 4). */
export const MAX_CONFIG_DEPTH = 16;
