import { Command } from 'commander';
import Table from 'cli-table3';
import { countModel } from '../../model/count';
import { loadStructureArg, intOption, engineIntOption } from '../structure-input';
import { countText, human } from '../format';
import { ZennasError } from '../../errors';
import { DEFAULTS, structureSettings } from '../../defaults';
import { STRUCTURE_ARG_HELP } from '../structure-input';

interface InfoFlags { resolution?: number; numClasses?: number; se?: boolean; json?: boolean; shortcuts: 'official' | 'minimal' }

/** `zennas info`: params / FLOPs / layers per block and in total. */
export function registerInfoCommand(program: Command): void {
  program
    .command('info')
    .description('params, FLOPs (multiply-adds), layers and resolutions of a structure, per block and total')
    .argument('<structure>', STRUCTURE_ARG_HELP)
    .option('-r, --resolution <n>', `input resolution (default: the zoo net's own, else ${DEFAULTS.resolution})`, engineIntOption('--resolution', 'resolution'))
    .option('-c, --num-classes <n>', `classes of the GAP+Linear head, 0 = none (default: the zoo net's own, else ${DEFAULTS.numClasses})`, intOption('--num-classes', 0, 1_000_000))
    .option('--se', "insert SE modules in residual super blocks (default: the zoo net's own, e.g. zennet-400M-SE)")
    .option('--no-se', 'no SE modules, even for a zoo net built with them')
    .option('--shortcuts <rule>', "projection shortcuts: 'official' (first unit of a block always projects) or 'minimal'", 'official')
    .option('--json', 'print one JSON object instead of a table')
    .addHelpText('after', `
Examples:
  $ zennas info zennet-1M
  $ zennas info zennet-400M-SE --json
  $ zennas info "SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)" -r 32 -c 10
  $ echo "SuperConvK3BNRELU(3,8,1,1)" | zennas info -`)
    .action((arg: string, flags: InfoFlags) => {
      const { structure, text, source, zoo } = loadStructureArg(arg);
      const o = structureSettings(flags, zoo);
      if (flags.shortcuts !== 'official' && flags.shortcuts !== 'minimal') {
        throw new ZennasError('E_OPTION', `--shortcuts must be 'official' or 'minimal', got '${flags.shortcuts}'`);
      }
      const c = countModel(structure, { resolution: o.resolution, numClasses: o.numClasses, se: o.se, shortcuts: flags.shortcuts });
      if (flags.json) {
        process.stdout.write(JSON.stringify({ structure: text, source, ...(zoo ? { zoo: zoo.name } : {}), se: o.se, ...c }) + '\n');
        return;
      }
      const t = new Table({
        head: ['#', 'block', 'in→out', 'stride', 'resolution', 'layers', 'params', 'FLOPs'],
        colAligns: ['right', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
        style: { head: [], border: [], compact: true },
      });
      for (const b of c.blocks) {
        t.push([b.index + 1, b.type, `${b.in}→${b.out}`, b.stride, `${b.inputResolution}→${b.outputResolution}`, b.layers || '', human(b.params), human(b.flops)]);
      }
      if (zoo) process.stdout.write(`${zoo.name}: ${zoo.dataset}, ${zoo.numClasses} classes, ${zoo.resolution}×${zoo.resolution}${zoo.se ? ', SE' : ''}, searched under ${zoo.budget}\n`);
      process.stdout.write(t.toString() + '\n');
      const lines = [
        `params  ${countText(c.params)}   without classifier ${countText(c.paramsNoClassifier)}   (${o.numClasses} classes${o.se ? ', SE' : ''})`,
        `FLOPs   ${countText(c.flops)} multiply-adds   without classifier ${countText(c.flopsNoClassifier)}`,
        `layers  ${c.layers} (Σ sub_layers)   output ${c.outputChannels}×${c.outputResolution}×${c.outputResolution} at input ${c.resolution}×${c.resolution}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}
