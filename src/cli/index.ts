#!/usr/bin/env node
/** The `torchnas` command: parses arguments and calls methods, nothing more. */
import { TorchnasError } from '../core/errors';
import { Command } from './command';
import { infoCommand } from './commands/info';
import { trainDemoCommand } from './commands/train-demo';
import { tenasCommand } from './commands/tenas';
import { flopsCommand } from './commands/flops';
import { ncpCommand } from './commands/ncp';

const COMMANDS: Command[] = [infoCommand, trainDemoCommand, tenasCommand, ncpCommand, flopsCommand];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: torchnas <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'torchnas <command> --help' for a command's options.",
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`torchnas: unknown command '${name}'\n\n${help()}\n`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof TorchnasError) {
      process.stderr.write(`torchnas ${name}: error [${e.code}]: ${e.message}\n`);
      return e.code === 'INVALID_ARGUMENT' || e.code === 'CONFIG_INVALID' ? 2 : 1;
    }
    throw e;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`torchnas: unexpected error: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
