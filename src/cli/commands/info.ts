import { info } from '../../core/device';
import { Command, parseFlags, printJson } from '../command';

export const infoCommand: Command = {
  name: 'info',
  summary: 'versions, devices and threads',
  usage: 'torchnas info [--json]',
  async run(argv) {
    const { values } = parseFlags(argv, { json: { type: 'boolean' } }, this.usage);
    if (values.help) {
      process.stdout.write(`${this.usage}\n`);
      return 0;
    }
    const i = info();
    if (values.json) {
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
        `node       ${i.node} (${i.platform})`,
      ].join('\n') + '\n',
    );
    return 0;
  },
};
