/// <reference types="@webgpu/types" />
/**
 * Shader checking and pipeline creation. `checkKernel` compiles a kernel's source and reports an
 * error with the kernel's name and the compiler's first message, never a hang or a silent wrong
 * result. Pipelines are made per aliasing pattern (see wgslSource) the first time a call site
 * needs one, i.e. during a network's first step, and cached for the rest of the run.
 */
import { wgslSource, type KernelSpec } from './shaders/spec.js';

export class ShaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShaderError';
  }
}

/** Compiles a kernel's source (all tensors distinct) and throws a ShaderError naming it if it does not compile. */
export async function checkKernel(device: GPUDevice, spec: KernelSpec, source = wgslSource(spec)): Promise<void> {
  device.pushErrorScope('validation'); // reported below, not printed by Dawn as an uncaptured error
  const module = device.createShaderModule({ code: source, label: spec.name });
  const info = await module.getCompilationInfo();
  await device.popErrorScope();
  const error = info.messages.find((m) => m.type === 'error');
  if (error) {
    throw new ShaderError(`WebGPU kernel ${spec.name} does not compile: line ${error.lineNum}: ${error.message.split('\n')[0]}`);
  }
}

/**
 * The pipeline for one aliasing pattern, created synchronously; an error surfaces when the work
 * is checked (GpuKernels.finish).
 */
export function createVariant(device: GPUDevice, spec: KernelSpec, alias: readonly number[],
  constants?: Readonly<Record<string, number | boolean>>): GPUComputePipeline {
  const module = device.createShaderModule({ code: wgslSource(spec, alias, constants), label: spec.name });
  return device.createComputePipeline({ layout: pipelineLayout(device, spec, alias), compute: { module, entryPoint: 'main' },
    label: variantKey(spec, alias, constants) });
}

/** The cache key of a pipeline: kernel, aliasing pattern and, for a specialised one, its constants. */
export function variantKey(spec: KernelSpec, alias: readonly number[], constants?: Readonly<Record<string, number | boolean>>): string {
  const shape = constants ? ` ${spec.scalars.map(([n]) => Number(constants[n] ?? 0)).join(',')}` : '';
  return `${spec.name} [${alias.join(',')}]${shape}`;
}

/** Binding 0 the parameters, then each representative tensor: explicit, so a binding a shader leaves unread still exists. */
function pipelineLayout(device: GPUDevice, spec: KernelSpec, alias: readonly number[]): GPUPipelineLayout {
  const entries: GPUBindGroupLayoutEntry[] = [{ binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
    ...spec.tensors.flatMap((_, i) => alias[i] === i
      ? [{ binding: i + 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'storage' as const } }] : [])];
  return device.createPipelineLayout({ bindGroupLayouts: [device.createBindGroupLayout({ entries, label: spec.name })] });
}
