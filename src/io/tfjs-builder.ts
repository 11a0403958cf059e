/**
 * model.json's Keras topology, built layer by layer, with the weights in manifest order. A chain is
 * a Keras Sequential model (layers in order, the first with the input shape); a graph is a Keras
 * functional model ("Model": an InputLayer, then each layer with its `inbound_nodes`, and the
 * input and output layers named), which is how Keras writes branches, Add and Concatenate.
 */

/** One layer of the topology; `name` and `inbound_nodes` only in a functional model. */
export interface KerasLayer {
  class_name: string;
  config: Record<string, unknown>;
  name?: string;
  inbound_nodes?: [string, number, number, Record<string, never>][][];
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
}

export type Weights = Record<string, { shape: number[]; data: Float32Array }>;

/** The input layer's name in a functional model. */
const INPUT_LAYER = 'input';

/** A Keras layer name TensorFlow.js accepts (/^[A-Za-z0-9][-A-Za-z0-9._]*$/; '/' would split weight names). */
function kerasName(name: string): string {
  const clean = name.replace(/[^-A-Za-z0-9._]/g, '_');
  return /^[A-Za-z0-9]/.test(clean) ? clean : `n${clean}`;
}

export class TopologyBuilder {
  readonly layers: KerasLayer[] = [];
  readonly specs: WeightSpec[] = [];
  readonly chunks: Float32Array[] = [];
  private readonly used = new Set<string>();
  /** The name of the layer added last (what a chain's next layer reads); the input layer's at first. */
  last = INPUT_LAYER;

  constructor(private readonly inputShape: number[], readonly functional: boolean) {
    if (!functional) return;
    this.used.add(INPUT_LAYER);
    this.layers.push({ class_name: 'InputLayer', name: INPUT_LAYER, inbound_nodes: [],
      config: { batch_input_shape: [null, ...inputShape], dtype: 'float32', sparse: false, name: INPUT_LAYER } });
  }

  /**
   * Adds a layer reading `inbound` (Keras layer names, in order; default the last one added) and
   * returns its name: `name` made valid and unique.
   */
  add(className: string, name: string, config: Record<string, unknown>, weights: Weights = {}, inbound = [this.last]): string {
    const unique = this.unique(kerasName(name));
    const first = !this.functional && this.layers.length === 0 ? { batch_input_shape: [null, ...this.inputShape] } : {};
    const layer: KerasLayer = { class_name: className, config: { name: unique, trainable: true, dtype: 'float32', ...first, ...config } };
    if (this.functional) Object.assign(layer, { name: unique, inbound_nodes: [inbound.map((n) => [n, 0, 0, {}])] });
    this.layers.push(layer);
    for (const [w, { shape, data }] of Object.entries(weights)) {
      this.specs.push({ name: `${unique}/${w}`, shape, dtype: 'float32' });
      this.chunks.push(data);
    }
    return (this.last = unique);
  }

  /** Zero padding [top, bottom, left, right] before the layer `name` as a ZeroPadding2D, if any; returns what the layer reads. */
  zeroPad(name: string, pads: readonly number[], inbound: string): string {
    const [t, b, l, r] = pads.length === 4 ? pads : [pads[0], pads[0], pads[1], pads[1]];
    if (t > 0 || b > 0 || l > 0 || r > 0) return this.add('ZeroPadding2D', `${name}_pad`, { padding: [[t, b], [l, r]] }, {}, [inbound]);
    return inbound;
  }

  /** The topology's config: the layers, and for a functional model its input and output layers. */
  config(output: string): { name: string; layers: KerasLayer[] } & Record<string, unknown> {
    if (!this.functional) return { name: 'descent', layers: this.layers };
    return { name: 'descent', layers: this.layers, input_layers: [[INPUT_LAYER, 0, 0]], output_layers: [[output, 0, 0]] };
  }

  /** weights.bin: the weights in manifest order, float32 little-endian. */
  weightBytes(): Uint8Array {
    const total = this.chunks.reduce((n, c) => n + c.length, 0), out = new Uint8Array(total * 4), view = new DataView(out.buffer);
    let i = 0;
    for (const chunk of this.chunks) for (const v of chunk) view.setFloat32(4 * i++, v, true);
    return out;
  }

  private unique(name: string): string {
    let candidate = name;
    for (let i = 2; this.used.has(candidate); i++) candidate = `${name}_${i}`;
    this.used.add(candidate);
    return candidate;
  }
}
