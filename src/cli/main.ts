import { Command, CommanderError } from 'commander';
import { registerInfoCommand } from './commands/info';
import { registerScoreCommand } from './commands/score';
import { registerSearchCommand } from './commands/search';
import { registerLatencyCommand } from './commands/latency';
import { registerLutCommand } from './commands/lut';
import { registerExportCommand } from './commands/export';
import { registerProxiesCommand } from './commands/proxies';
import { registerZooCommand } from './commands/zoo';
import { registerWorkerCommand } from './commands/worker';
import { registerWorkersCommand } from './commands/workers';
import { registerPruneCommand } from './commands/prune';
import { registerCorrelateCommand } from './commands/correlate';
import { isZennasError } from '../errors';
import { packageVersion } from '../util/package';
import { ioError, isNodeIoError } from '../util/files';

/** Build the `zennas` command-line program. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('zennas')
    .description('Training-free neural architecture search: Zen-score, evolutionary search under budgets, GPU/TensorRT latency and ONNX export, with a native (C++/CUDA) engine.')
    .version(packageVersion())
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false });
  registerInfoCommand(program);
  registerScoreCommand(program);
  registerSearchCommand(program);
  registerLatencyCommand(program);
  registerLutCommand(program);      // latency lookup tables (src/lut)
  registerExportCommand(program);
  registerProxiesCommand(program);  // `zennas proxies` and `score --proxy`
  registerZooCommand(program);
  registerWorkerCommand(program);   // distributed scoring (src/distributed)
  registerWorkersCommand(program);
  registerPruneCommand(program);      // cell supernets (src/cells)
  registerCorrelateCommand(program);  // proxy vs accuracy tables (src/stats)
  program.addHelpText('after', `
Structures use the PlainNet grammar of the ZenNet zoo, e.g.
  SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,1,8,1)SuperResK1K5K1(16,32,2,16,2)SuperConvK1BNRELU(32,128,1,1)

Examples:
  $ zennas zoo
  $ zennas info zennet-1M
  $ zennas score zennet-1M --repeats 4
  $ zennas search --space I --budget-params 1M --max-layers 18 --iterations 100 --out runs/cifar-1m
  $ zennas latency zennet-0.1ms --backend cpu --batch-size 8 --iterations 5
  $ zennas export zennet-0.1ms -o zennet-0.1ms.onnx

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
    // A file-system error that no command turned into a ZennasError (EROFS, EACCES, ENOSPC,
    // EFBIG, …) is still an E_IO with its path, not a raw Node message.
    const z = isNodeIoError(e) ? ioError(e, (e as NodeJS.ErrnoException).path ? `'${(e as NodeJS.ErrnoException).path}'` : `${(e as NodeJS.ErrnoException).syscall} failed`) : e;
    if (isZennasError(z)) {
      process.stderr.write(`zennas: error [${z.code}]: ${z.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw z;
  }
}
