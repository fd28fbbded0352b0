import { info } from '../../core/device';
import { defineCommand, printJson } from '../command';

export const infoCommand = defineCommand({
  name: 'info',
  summary: 'versions, devices and threads',
  usage: '[--json]',
  flags: { json: { type: 'boolean', help: 'print JSON' } },
  async run(flags) {
    const i = info();
    if (flags.json) {
      printJson(i);
      return 0;
    }
    process.stdout.write(
      [
        `torchnas   ${i.torchnas}`,
        `LibTorch   ${i.libtorch}`,
        `CUDA       ${i.cuda ? `yes (${i.cudaDeviceCount} device${i.cudaDeviceCount === 1 ? '' : 's'})` : 'no'}`,
        `devices    ${i.devices.join(', ')}`,
        `threads    ${i.threads} intra-op, ${i.interopThreads} inter-op`,
        `MKL-DNN    ${i.mkldnn ? 'yes' : 'no'}`,
        `c10d       ${i.distributed.length ? i.distributed.join(', ') : 'none (DISTRIBUTED_UNAVAILABLE)'}`,
        `GEMM       ${i.sgemm === 'onednn' ? "oneDNN's sgemm (NAR ranker's linears)" : "ATen's (the BLAS)"}`,
        `BLAS       ${i.blas.length ? i.blas.join(', ') : 'none mapped'}`,
        ...(i.openblas ? [`OpenBLAS   ${i.openblas.config.trim()} (${i.openblas.parallel}, ${i.openblas.threads} thread${i.openblas.threads === 1 ? '' : 's'})`] : []),
        `OpenMP     ${i.openmp.length ? i.openmp.join(', ') : 'none mapped'}`,
        `kernels    ${i.kernelChoices.count} timed choice${i.kernelChoices.count === 1 ? '' : 's'}${i.kernelChoices.file ? ` in ${i.kernelChoices.file}` : ' (memory only)'}`,
        `CPU cache  ${i.cpuCache.installed ? `caching allocator, idle bound ${Math.round(i.cpuCache.limitBytes / 1048576)} MiB` : "LibTorch's own allocator (TORCHNAS_CPU_ALLOCATOR=system)"}`,
        `addon      ${i.addon}`,
        `node       ${i.node} (${i.platform})`,
      ].join('\n') + '\n',
    );
    return 0;
  },
});
