/**
 * WebGPU in Node through the optional npm package `webgpu` (Google's Dawn). Without a GPU, Dawn
 * can run on SwiftShader, the CPU Vulkan driver that ships with Debian's chromium: pass
 * `swiftshader: true` (tests do) and the Vulkan loader is pointed at its ICD file. Every failure
 * is one line naming what is missing: the package, the Vulkan loader, a driver, an adapter.
 */
import { existsSync, readdirSync } from 'node:fs';
import { openDevice, WebGpuUnavailableError, type GpuDevice } from './webgpu/device.js';

/** Where Debian's chromium (chromium-common) puts SwiftShader's Vulkan ICD. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const VULKAN_LOADERS = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
  '/usr/lib/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/lib/x86_64-linux-gnu/libvulkan.so.1'];

export interface NodeGpuOptions {
  /** Use SwiftShader (the CPU Vulkan driver) when VK_ICD_FILENAMES does not already choose a driver. */
  swiftshader?: boolean;
  /** The ICD file for `swiftshader` (default: Debian chromium's). */
  icd?: string;
}

/** Dawn's instances, kept alive: a collected instance takes its devices down with it (a crash). */
const instances = new Set<GPU>();

type DawnModule = { create(flags: string[]): GPU; globals: Record<string, unknown> };

/** Loads `webgpu` (a variable name, so that TypeScript builds without the optional package), or says it is not installed. */
export async function loadDawn(name = 'webgpu'): Promise<DawnModule> {
  try {
    return (await import(name)) as DawnModule;
  } catch (e) {
    throw new WebGpuUnavailableError(`the optional package '${name}' is not installed or did not load ` +
      `(npm install webgpu@0.6.2): ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Why Dawn saw no adapter, as far as the files on this machine tell. */
export function missingAdapterReason(icd = process.env.VK_ICD_FILENAMES): string {
  if (process.platform === 'linux' && !VULKAN_LOADERS.some((p) => existsSync(p))) {
    return 'no Vulkan loader (libvulkan.so.1; on Debian: apt-get install libvulkan1)';
  }
  if (icd) {
    const missing = icd.split(':').filter((f) => !existsSync(f));
    if (missing.length) return `VK_ICD_FILENAMES names ${missing.join(', ')}, which does not exist`;
    return `the Vulkan driver in VK_ICD_FILENAMES (${icd}) offers no adapter that Dawn accepts`;
  }
  return `no GPU driver that Dawn accepts (Mesa's lavapipe is not enough); for the CPU driver SwiftShader, ` +
    `install Debian's chromium and use { swiftshader: true } or VK_ICD_FILENAMES=${SWIFTSHADER_ICD}`;
}

/** Opens a WebGPU device in Node: the package, then the adapter, each failing with a clear reason. */
export async function openNodeGpu(options: NodeGpuOptions = {}): Promise<GpuDevice> {
  const missing = options.swiftshader ? missingIcd() : missingBeforeDawn();
  if (missing) throw new WebGpuUnavailableError(`WebGPU found no adapter: ${missing}`);
  return openDevice(await nodeGpu(options), () => missingAdapterReason());
}

/**
 * What is surely missing, found without starting Dawn (which writes the Vulkan loader's complaints to
 * stderr): a driver file that VK_ICD_FILENAMES names, or, on Linux with no driver chosen by the
 * environment, any GPU device at all.
 */
function missingBeforeDawn(): string | null {
  if (process.env.VK_ICD_FILENAMES) return missingIcd();
  if (process.platform !== 'linux' || process.env.VK_DRIVER_FILES || process.env.VK_ADD_DRIVER_FILES) return null;
  return gpuDevicePresent() ? null : 'this machine has no GPU device (no /dev/dri/renderD* or /dev/nvidia0); ' +
    `for SwiftShader, the CPU driver of Debian's chromium (for tests), ask for it: { swiftshader: true } (CLI: --gpu-adapter swiftshader)`;
}

/** A driver file named by VK_ICD_FILENAMES that does not exist (SwiftShader asked for by name too). */
function missingIcd(): string | null {
  const absent = (process.env.VK_ICD_FILENAMES ?? '').split(':').filter((f) => f && !existsSync(f));
  return absent.length ? `VK_ICD_FILENAMES names ${absent.join(', ')}, which does not exist` : null;
}

/** Whether a GPU could be there, by its device files (Linux; elsewhere: yes). */
export function gpuDevicePresent(): boolean {
  if (process.platform !== 'linux') return true;
  if (existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

/** Dawn's `GPU` object (Node's `navigator.gpu`), kept alive for the process. */
export async function nodeGpu(options: NodeGpuOptions = {}): Promise<GPU> {
  if (options.swiftshader && !process.env.VK_ICD_FILENAMES) {
    const icd = options.icd ?? SWIFTSHADER_ICD;
    if (!existsSync(icd)) {
      throw new WebGpuUnavailableError(`SwiftShader's Vulkan driver is not installed (${icd} is missing; on Debian: apt-get install chromium)`);
    }
    process.env.VK_ICD_FILENAMES = icd; // read by the Vulkan loader when Dawn creates its instance
  }
  const dawn = await loadDawn();
  Object.assign(globalThis, dawn.globals); // GPUBufferUsage, GPUMapMode, ... as in a browser
  const gpu = dawn.create([]);
  instances.add(gpu);
  return gpu;
}
