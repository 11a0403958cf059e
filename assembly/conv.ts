/**
 * 2-D convolution on channels-last data, all strides, paddings and dilations.
 *
 * Forward (conv2dForward) is an implicit GEMM over tiles of 4 consecutive output pixels: for each
 * tile the input values its windows read are packed into a panel a[k][4] (k running over taps,
 * then channels; a window row that lies wholly inside the input is one run of KW·C values, so
 * its taps merge into one entry, and entries that follow on in the weights merge too; positions in
 * the padding are zeros, taps that only see padding are skipped), and the 4-pixel × 8-channel
 * register tile (tile.ts) runs over the panel and the pre-packed weights [⌈O/8⌉][KH·KW][C][8].
 * Backward-data with stride 1 (conv2dBackwardDataScatter) is a GEMM followed by col2im: for 4
 * consecutive gy pixels of a row and each gx row, Z = Σ_kh gy[row reaching it by kh]·W[:, kh] is
 * 4 × KW·C, computed as 4×8 tiles over K = O per window row, added up in a buffer (the pixels' gy
 * rows packed once per image), and each row of Z belongs to the run of the gx
 * row that pixel's window row covers (never a tap in the padding); the four runs overlap, so where
 * all lie inside the row they are first summed (through a zero-margined buffer) and gx gets one
 * addition per value; threads split the images (pairs of images where rows end in 2 pixels, which
 * then fill one tile). (With a width
 * dilation it is the forward convolution of gy with the weights flipped and transposed, padding
 * (K-1)·D - P.) With larger strides it is a direct kernel (conv2dBackwardData) that tiles 4 input
 * pixels of one row with the same column residue modulo the stride (so they see the same taps)
 * × 8 input channels.
 * Backward-filter (conv2dBackwardFilter) is a GEMM gw[O, KH·KW·C] += gyᵀ · im2col(x) over blocks
 * of 256 pixels, both operands packed; threads split fixed groups of whole images (and, when
 * there are few, slices of the columns), each group summing into partial sums of its own, which
 * convFilterSum adds to gw in group order.
 *
 * Inputs with few channels (C ≤ 4: a network's first layer) have paths of their own, since a
 * reduction of only KH·KW·C terms per tap row wastes most of a tile: each image is copied into
 * a zero-padded planar buffer [C][Hp][Wp], then conv2dForwardDirect vectorises over 8 adjacent
 * output pixels × 4 output channels (stride 1 in width; a last group of 5 or 6 channels is one
 * tile of 6), or, when O is a multiple of 8, over 8 output channels × 4 adjacent pixels (no lane
 * wasted, no transpose to store); conv2dFilterDirect over 8 output channels × 4 taps, or, for one
 * input channel 5 wide and O not a multiple of 8 (LeNet's 6), over a window row's taps 0-3 × 2
 * channels × 4 rows, one image at a time into per-image partial sums that convFilterReduce adds
 * to gw in image order. Each sum keeps the order the first forms had, so the results are the same
 * bits whichever form ran.
 *
 * Every output element is a single chain of float32 operations in a fixed order that depends only
 * on the geometry and on which tile, image or pixel block it belongs to, and threads split the
 * work by whole tiles, rows, images or columns, so results are bitwise identical for any thread
 * count.
 *
 * Parameter words: Conv in src/engine/kernel-params.ts.
 */
export { conv2dForward, convForwardScratchBytes, convPackBackwardData, convPackFlipped, convPackForward, convPackedBytes, convScratchBytes } from './conv-forward';
export { conv2dBackwardData, conv2dBackwardDataScatter, convPackScatter, convScatterPackedBytes, convScatterScratchBytes, convScatterUnits } from './conv-backward-data';
export { conv2dFilterDirect, conv2dForwardDirect, convDirectPackedBytes, convDirectScratchBytes, convFilterDirectScratchBytes, convFilterPartialBytes, convFilterReduce, convPackDirect } from './conv-few-channels';
export { conv2dBackwardFilter, convFilterScratchBytes, convFilterSum, convFilterSumBytes, convFilterUnits } from './conv-backward-filter';
