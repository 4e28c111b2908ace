import { Command, CommanderError } from 'commander';
import { registerInfoCommand } from './commands/info';
import { isZennasError } from '../errors';

// Commands register themselves; optional ones (whose modules may fail to load, e.g. when the
// native addon is absent) are wired through `tryRegister` so `info` always works.
function tryRegister(program: Command, modulePath: string, exportName: string): void {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(modulePath) as Record<string, unknown>;
    const fn = mod[exportName];
    if (typeof fn === 'function') (fn as (p: Command) => void)(program);
  } catch (e) {
    // Only a command module that does not exist (yet) is skipped; its own failures surface.
    const err = e as NodeJS.ErrnoException;
    if (err.code !== 'MODULE_NOT_FOUND' || !String(err.message).includes(modulePath.slice(2))) throw e;
  }
}

/** Build the `zennas` command-line program. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('zennas')
    .description('Training-free neural architecture search: Zen-score, zero-shot proxies and evolutionary\nsearch with a native (C++/CUDA) engine.')
    .version(require('../../../package.json').version as string)
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false });
  registerInfoCommand(program);
  tryRegister(program, './commands/score', 'registerScoreCommand');
  tryRegister(program, './commands/search', 'registerSearchCommand');
  tryRegister(program, './commands/latency', 'registerLatencyCommand');
  tryRegister(program, './commands/doctor', 'registerDoctorCommand');
  program.addHelpText('after', `
Structures use the PlainNet grammar of the ZenNet zoo, e.g.
  SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,1,8,1)SuperResK1K5K1(16,32,2,16,2)SuperConvK1BNRELU(32,128,1,1)

Examples:
  $ zennas info zennet_cifar_model_size1M_res32.txt --resolution 32 --num-classes 100
  $ zennas score zennet_cifar_model_size1M_res32.txt --resolution 32 --batch-size 64 --repeats 8
  $ zennas search --space I --budget-params 1M --max-layers 18 --iterations 2000 --out runs/cifar-1m
  $ zennas latency zennet_imagenet1k_latency01ms_res224.txt --batch-size 64 --precision fp16

Run 'zennas <command> --help' for the flags of a command.`);
  return program;
}

/** CLI entry point; resolves when the command finished. Errors become one clear line + exit code. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    if (isZennasError(e)) {
      process.stderr.write(`zennas: error [${e.code}]: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
}
