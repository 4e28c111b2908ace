/**
 * `zennas correlate --table FILE.csv --proxy NAME[,…]`: ranking quality of proxies on a table of
 * (architecture, accuracy) rows (src/stats/correlate.ts): Kendall τ and Spearman ρ with bootstrap
 * intervals per proxy, and a scatter plot (SVG) per proxy.
 */
import * as path from 'path';
import * as fs from 'fs';
import { Command } from 'commander';
import { Engine } from '../../engine/engine';
import { ZennasError } from '../../errors';
import { parseProxyList } from '../../proxies/score';
import { parseAccuracyTable } from '../../stats/accuracy-table';
import { correlateTable } from '../../stats/correlate';
import { readRegularText, io } from '../../util/files';
import { writeFileAtomic } from '../../util/write-atomic';
import { engineIntOption, intOption } from '../structure-input';

interface CorrelateFlags {
  table: string; proxy: string; space?: string; accuracyColumn?: string; repeats: number; seed: number; batchSize?: number; resolution: number;
  channels?: number; cells?: number; numClasses?: number; bootstrap: number; svgDir: string; svg: boolean; threads?: number; json?: boolean; progress: boolean;
}

/** Registers `zennas correlate`. */
export function registerCorrelateCommand(program: Command): void {
  program
    .command('correlate')
    .description('ranking quality of proxies on an (architecture, accuracy) table: Kendall τ and Spearman ρ with bootstrap intervals, one SVG scatter per proxy')
    .requiredOption('--table <file.csv>', "CSV with a header: a 'genotype' (NAS-Bench-201 string), 'index' (benchmark index) or 'structure' (PlainNet) column, and an accuracy column")
    .requiredOption('-p, --proxy <names>', "proxies: NAME[,NAME…] or 'all'")
    .option('--space <name>', "'nb201' or 'plainnet' (default: from the table's column)")
    .option('--accuracy-column <name>', "the accuracy column (default 'accuracy')")
    .option('-n, --repeats <n>', 'repeats per score (mean)', engineIntOption('--repeats', 'repeats'), 1)
    .option('-s, --seed <n>', 'Philox seed', engineIntOption('--seed', 'seed'), 0)
    .option('-b, --batch-size <n>', "images per batch (default: each proxy's)", engineIntOption('--batch-size', 'batchSize'))
    .option('-r, --resolution <n>', 'input resolution', engineIntOption('--resolution', 'resolution'), 32)
    .option('-C, --channels <n>', 'nb201: channels C (default 16)', intOption('--channels', 1, 4096))
    .option('-N, --cells <n>', 'nb201: cells per stage N (default 5)', intOption('--cells', 1, 64))
    .option('-c, --num-classes <n>', 'classes of the classifier (default 10)', intOption('--num-classes', 1, 65536))
    .option('--bootstrap <n>', 'bootstrap resamples of the intervals', intOption('--bootstrap', 1, 1_000_000), 1000)
    .option('--svg-dir <dir>', 'where the scatter plots go (<table name>.<proxy>.svg)', '.')
    .option('--no-svg', 'no scatter plots')
    .option('-t, --threads <n>', 'CPU threads (default: all cores)', intOption('--threads', 1, 1024))
    .option('--no-progress', 'no progress on stderr')
    .option('--json', 'print one JSON object')
    .addHelpText('after', `
Examples:
  $ printf 'genotype,accuracy\\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,10\\n|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|,40\\n|nor_conv_1x1~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|,80\\n|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|,94\\n' > t.csv && zennas correlate --table t.csv -p synflow,naswot -C 4 -N 1 --bootstrap 100   # a made-up 4-row table
  $ zennas correlate --table my-nb201-cifar10.csv --proxy all --svg-dir plots --json   # needs: your table (the README shows how to export one from NAS-Bench-201)`)
    .action(async (f: CorrelateFlags) => {
      const proxies = parseProxyList(f.proxy);
      if (f.space !== undefined && f.space !== 'nb201' && f.space !== 'plainnet') throw new ZennasError('E_OPTION', `--space must be 'nb201' or 'plainnet', got '${f.space}'`);
      const text = readRegularText(f.table, { maxBytes: 256 * 1024 * 1024, what: 'accuracy table' });
      const table = parseAccuracyTable(text, { file: f.table, ...(f.accuracyColumn ? { accuracyColumn: f.accuracyColumn } : {}) });
      const abort = new AbortController();
      const onSigint = () => abort.abort();
      process.on('SIGINT', onSigint);
      const engine = new Engine({ threads: f.threads });
      let res;
      try {
        res = await correlateTable(engine, table, proxies, {
          ...(f.space ? { space: f.space as 'nb201' | 'plainnet' } : {}),
          net: { ...(f.channels !== undefined ? { channels: f.channels } : {}), ...(f.cells !== undefined ? { cells: f.cells } : {}), ...(f.numClasses !== undefined ? { numClasses: f.numClasses } : {}) },
          engineOptions: { repeats: f.repeats, seed: f.seed, resolution: f.resolution, ...(f.batchSize !== undefined ? { batchSize: f.batchSize } : {}) },
          resamples: f.bootstrap, signal: abort.signal,
          onProgress: (done, total) => {
            if (f.progress && (done === total || done % Math.max(1, Math.floor(total / 20)) === 0)) process.stderr.write(`correlate: ${done}/${total} scores\n`);
          },
        });
      } catch (e) {
        if (abort.signal.aborted) {
          process.stderr.write('zennas: interrupted\n');
          process.exitCode = 130;
          return;
        }
        throw e;
      } finally {
        process.off('SIGINT', onSigint);
        engine.close();
      }
      const svgs: Record<string, string> = {};
      if (f.svg) {
        io(`cannot create the directory '${f.svgDir}'`, () => fs.mkdirSync(f.svgDir, { recursive: true }));
        const base = path.basename(f.table).replace(/\.csv$/i, '');
        for (const p of res.proxies) {
          const file = path.join(f.svgDir, `${base}.${p.proxy}.svg`);
          writeFileAtomic(file, p.svg);
          svgs[p.proxy] = file;
        }
      }
      if (f.json) {
        process.stdout.write(JSON.stringify({ table: f.table, rows: res.rows, space: res.space, proxies: res.proxies.map(({ svg: _svg, ...p }) => ({ ...p, ...(svgs[p.proxy] ? { svgFile: svgs[p.proxy] } : {}) })), archs: res.archs, accuracy: res.accuracy }) + '\n');
        return;
      }
      const pct = Math.round(res.proxies[0]!.kendallTau.level * 100);
      const rows = [['proxy', 'Kendall τ', `${pct}% interval`, 'Spearman ρ', `${pct}% interval`, 'seconds'],
        ...res.proxies.map((p) => [p.proxy, p.kendallTau.value.toFixed(3), `[${p.kendallTau.low.toFixed(3)}, ${p.kendallTau.high.toFixed(3)}]`, p.spearmanRho.value.toFixed(3), `[${p.spearmanRho.low.toFixed(3)}, ${p.spearmanRho.high.toFixed(3)}]`, p.seconds.toFixed(2)])];
      const width = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
      const line = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(width[c]!) : v.padStart(width[c]!))).join('  ');
      const out = [line(rows[0]!), ...rows.slice(1).map(line),
        `${res.rows} architectures (${res.space}), ${f.repeats} repeat(s), seed ${f.seed}, ${f.bootstrap} bootstrap resamples; 'min' proxies negated so τ > 0 means "ranks like accuracy"`];
      for (const p of res.proxies) if (p.failed.length) out.push(`${p.proxy}: ${p.failed.length} row(s) left out, the proxy is undefined there (${p.failed.map((x) => `line ${x.line}`).join(', ')}: ${p.failed[0]!.message})`);
      for (const [p, file] of Object.entries(svgs)) out.push(`scatter ${p}: ${file}`);
      process.stdout.write(out.join('\n') + '\n');
    });
}
