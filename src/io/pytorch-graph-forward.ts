/**
 * model.py for a graph network: `self.layers` is an nn.ModuleList with one module per node (so the
 * state_dict keys are `layers.<k>.…`, as a chain's), and `forward` follows the graph, one line per
 * node in list order: x0 is the preprocessed input, x<k+1> node k's output, Add is torch.add and
 * Concat torch.cat(dim=1) over the node's inputs in order.
 *
 * Two things PyTorch does differently are written into forward: padding that is not the same on
 * both sides becomes nn.functional.pad before the module (−∞ for max pooling, which Descent's
 * padding never wins), and a flattened image, whose features PyTorch holds in (c, h, w) order, is
 * put into Descent's (h, w, c) order where it enters a join or leaves the network (a Dense after a
 * Flatten has its weights permuted instead: see ./pytorch.ts).
 */
import type { Sequential } from '../network/sequential.js';
import { flattenedImages } from './pytorch.js';
import { moduleOf, padsOf, symmetric } from './pytorch-layer-modules.js';

const JOINS = new Set(['Add', 'Concat']);

/** A node's name for a Python comment: no control character can end the comment. */
const comment = (name: string) => name.replace(/[\x00-\x1f\x7f]/g, '?');

/** Python for tensor t, in Descent's feature order if it is a flattened image. */
function reordered(t: number, image: readonly number[] | null): string {
  return image ? `channels_last(x${t}, ${image[2]}, ${image[0]}, ${image[1]})` : `x${t}`;
}

/** The ModuleList's entries and forward's body. */
export function graphForward(net: Sequential): { modules: string; forward: string } {
  const imageOf = flattenedImages(net), modules: string[] = [], forward = ['x0 = self.preprocess(x)'];
  net.layers.forEach((layer, k) => {
    const name = net.topology.names[k], label = `node "${name}" (${layer.type})`, pads = padsOf(layer);
    const asymmetric = pads !== null && !symmetric(pads);
    modules.push(`${moduleOf(layer, label, !asymmetric)},  # ${k}: ${comment(name)} (${layer.type})`);
    let args = net.topology.inputs[k].map((t) => (JOINS.has(layer.type) ? reordered(t, imageOf[t]) : `x${t}`));
    if (asymmetric) {
      const [t, b, l, r] = pads, value = layer.type === 'MaxPool2d' ? ", value=float('-inf')" : '';
      args = [`nn.functional.pad(${args[0]}, (${l}, ${r}, ${t}, ${b})${value})`];
    }
    forward.push(`x${k + 1} = self.layers[${k}](${args.join(', ')})  # ${comment(name)}`);
  });
  const K = net.layers.length;
  forward.push(`return ${reordered(K, imageOf[K])}`);
  return { modules: modules.map((m) => `            ${m}`).join('\n'), forward: forward.map((l) => `        ${l}`).join('\n') };
}
