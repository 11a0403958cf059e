/// <reference types="@webgpu/types" />
/**
 * Opening a WebGPU device, wherever a `GPU` object comes from: `navigator.gpu` in a browser, the
 * npm package `webgpu` (Dawn) in Node (src/engine/node-webgpu.ts). It says which adapter it got,
 * and whether that adapter is a CPU fallback such as SwiftShader (fit for tests, not for speed),
 * and it fails with one line naming what is missing.
 */

/** Which adapter a device runs on, as a person reads it. */
export interface AdapterDescription {
  /** e.g. "google swiftshader (SwiftShader driver 5.0.0)". */
  name: string;
  /** A CPU or fallback adapter (SwiftShader, llvmpipe, WARP): correct, but no faster than the CPU engines. */
  software: boolean;
}

/** WebGPU could not start: `message` is one line saying what is missing. */
export class WebGpuUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebGpuUnavailableError';
  }
}

export interface GpuDevice {
  device: GPUDevice;
  adapter: AdapterDescription;
}

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software|warp|basic render/i;

export function describeAdapter(adapter: GPUAdapter): AdapterDescription {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const parts = [info.vendor, info.architecture].filter((s) => s).join(' ') || 'unnamed adapter';
  const name = info.description ? `${parts} (${info.description})` : parts;
  const fallback = info.isFallbackAdapter ?? (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return { name, software: fallback === true || SOFTWARE.test(`${name} ${info.device}`) };
}

/**
 * Requests an adapter and a device with the adapter's own storage limits (the defaults cap a
 * binding at 128 MiB and 8 storage buffers). `why` explains a missing adapter in the caller's terms.
 */
export async function openDevice(gpu: GPU | undefined, why: () => string,
  options: GPURequestAdapterOptions = {}): Promise<GpuDevice> {
  if (!gpu) throw new WebGpuUnavailableError('WebGPU is not available: no GPU object (navigator.gpu is undefined)');
  const adapter = await gpu.requestAdapter(options);
  if (!adapter) throw new WebGpuUnavailableError(`WebGPU found no adapter: ${why()}`);
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    },
  });
  return { device, adapter: describeAdapter(adapter) };
}
