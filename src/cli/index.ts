#!/usr/bin/env node
/** The `torchnas` command: parses arguments and calls methods, nothing more. */
import { TorchnasError } from '../core/errors';
import { Command } from './command';
import { infoCommand } from './commands/info';
import { trainDemoCommand } from './commands/train-demo';
import { tenasCommand } from './commands/tenas';
import { flopsCommand } from './commands/flops';
import { ncpCommand } from './commands/ncp';
import { dataCommand } from './commands/data';
import { densenasCommand } from './commands/densenas';
import { lutCommand } from './commands/lut';
import { narCommand } from './commands/nar';
import { workerCommand } from './commands/worker';
import { launchCommand } from './commands/launch';
import { dashboardCommand } from './commands/dashboard';

const COMMANDS: Command[] = [infoCommand, trainDemoCommand, tenasCommand, ncpCommand, densenasCommand, lutCommand, narCommand, flopsCommand, dataCommand, dashboardCommand, launchCommand, workerCommand];

/** Exit codes: 0 ok, 1 runtime error (BUSY included), 2 usage or config error, 130 interrupted (SIGINT). */
export const EXIT = { ok: 0, runtime: 1, usage: 2, interrupted: 130 } as const;

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

/** The exit code of a command that threw `e`. */
export function exitCodeOf(e: TorchnasError): number {
  if (e.code === 'CANCELLED') return EXIT.interrupted;
  return e.code === 'INVALID_ARGUMENT' || e.code === 'CONFIG_INVALID' ? EXIT.usage : EXIT.runtime;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return name ? EXIT.ok : EXIT.usage;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`torchnas: unknown command '${name}'\n\n${help()}\n`);
    return EXIT.usage;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof TorchnasError) {
      const subcommands = (command as { subcommands?: Command[] }).subcommands;
      const label = subcommands?.some((c) => c.name === rest[0]) ? `${name} ${rest[0]}` : name;
      process.stderr.write(`torchnas ${label}: error [${e.code}]: ${e.message}\n`);
      return exitCodeOf(e);
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
      process.exitCode = EXIT.runtime;
    },
  );
}
