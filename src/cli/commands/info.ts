import { Command } from 'commander';
import Table from 'cli-table3';
import { countModel } from '../../model/count';
import { loadStructureArg, intOption, engineIntOption } from '../structure-input';
import { human } from '../format';
import { ZennasError } from '../../errors';

interface InfoFlags { resolution: number; numClasses: number; se?: boolean; json?: boolean; shortcuts: 'official' | 'minimal' }

/** `zennas info`: params / FLOPs / layers per block and in total. */
export function registerInfoCommand(program: Command): void {
  program
    .command('info')
    .description('params, FLOPs (multiply-adds), layers and resolutions of a structure, per block and total')
    .argument('<structure|file>', 'a structure string or a file holding one')
    .option('-r, --resolution <n>', 'input resolution', engineIntOption('--resolution', 'resolution'), 224)
    .option('-c, --num-classes <n>', 'classes of the GAP+Linear head (0 = none)', intOption('--num-classes', 0, 1_000_000), 1000)
    .option('--se', 'insert SE modules in residual super blocks (ZenNet-*-SE models)')
    .option('--shortcuts <rule>', "projection shortcuts: 'official' (first unit of a block always projects) or 'minimal'", 'official')
    .option('--json', 'print one JSON object instead of a table')
    .addHelpText('after', `
Examples:
  $ zennas info test/fixtures/zennets/zennet_cifar_model_size1M_res32.txt --resolution 32 --num-classes 100
  $ zennas info "SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)" -r 32 --json`)
    .action((arg: string, flags: InfoFlags) => {
      const { structure, text, source } = loadStructureArg(arg);
      if (flags.shortcuts !== 'official' && flags.shortcuts !== 'minimal') {
        throw new ZennasError('E_OPTION', `--shortcuts must be 'official' or 'minimal', got '${flags.shortcuts}'`);
      }
      const c = countModel(structure, { resolution: flags.resolution, numClasses: flags.numClasses, se: !!flags.se, shortcuts: flags.shortcuts });
      if (flags.json) {
        process.stdout.write(JSON.stringify({ structure: text, source, ...c }) + '\n');
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
      process.stdout.write(t.toString() + '\n');
      const lines = [
        `params  ${human(c.params)} (${c.params.toLocaleString('en-US')})   without classifier ${human(c.paramsNoClassifier)}`,
        `FLOPs   ${human(c.flops)} (${c.flops.toLocaleString('en-US')} multiply-adds)   without classifier ${human(c.flopsNoClassifier)}`,
        `layers  ${c.layers} (Σ sub_layers)   output ${c.outputChannels}×${c.outputResolution}×${c.outputResolution} at input ${c.resolution}×${c.resolution}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}
