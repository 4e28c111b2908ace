import { Command } from 'commander';
import Table from 'cli-table3';
import { ZOO, zooFile } from '../../zoo';
import { countModel } from '../../model/count';
import { parseStructure } from '../../grammar/parse';
import { readRegularText } from '../../util/files';
import { human } from '../format';

/** `zennas zoo`: the ZenNet nets shipped with zennas, by the names the other commands accept. */
export function registerZooCommand(program: Command): void {
  program
    .command('zoo')
    .description('list the ZenNet model zoo shipped with zennas: names that info, score, latency and export accept')
    .option('--json', 'print one JSON array')
    .addHelpText('after', `
Each net is counted as the official code builds it (its classes, SE and resolution); the commands use
those as their defaults. The structures are the official idstcv/ZenNAS ZenNet files.

Examples:
  $ zennas zoo
  $ zennas info zennet-1M
  $ zennas score zennet_cifar100_model_size2M_res32 -n 2`)
    .action((f: { json?: boolean }) => {
      const rows = ZOO.map((e) => {
        const c = countModel(parseStructure(readRegularText(zooFile(e), { maxBytes: 1 << 20, what: 'zoo file' })), { resolution: e.resolution, numClasses: e.numClasses, se: e.se });
        return { ...e, params: c.params, flops: c.flops, layers: c.layers };
      });
      if (f.json) {
        process.stdout.write(JSON.stringify(rows) + '\n');
        return;
      }
      const t = new Table({
        head: ['name', 'short name', 'dataset', 'res', 'SE', 'params', 'FLOPs', 'searched under'],
        colAligns: ['left', 'left', 'left', 'right', 'left', 'right', 'right', 'left'],
        style: { head: [], border: [], compact: true },
      });
      for (const r of rows) t.push([r.name, r.aliases[0]!, r.dataset, r.resolution, r.se ? 'yes' : '', human(r.params), human(r.flops), r.budget]);
      process.stdout.write(t.toString() + '\n');
    });
}
