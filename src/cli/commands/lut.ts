import { packageVersion } from '../../util/package';
import * as fs from 'fs';
import { Command } from 'commander';
import { startProgress } from '../progress';
import { ZennasError } from '../../errors';
import { getSpace } from '../../spaces';
import { LATENCY_RUNTIMES, LatencyRuntime } from '../../latency';
import {
  buildLut, checkChoices, estimateLatency, getLutSpace, indexLut, LUT_SPACE_IDS, LutBuildProgress, lutSpaceEntry, openLutRuntime, readLut,
} from '../../lut';
import { formatStructure } from '../../grammar/format';
import type { Lut, LutChoices } from '../../lut/types';
import { assertCorrectionFor, correctedEstimate, fitLutCorrection, measuredNetsOf, readLutCorrection, writeLutCorrection } from '../../lut/correction-file';
import { readRegularText } from '../../util/files';
import { loadStructureArg, intOption } from '../structure-input';
import { formatDuration } from '../../util/units';

interface BuildFlags {
  space: string; variant?: string; runtime: string; batchSize: number; resolution: number; numClasses: number; threads: number;
  warmup: number; iterations: number; precision?: string; statistic: string; clock: string; overhead: string; output: string; overwrite?: boolean; passes?: number; runsPerPass: number; passWarmup: number; group: number; orderSeed: number; progress: boolean; json?: boolean;
}
interface EstimateFlags { lut: string; correction?: string; json?: boolean }
interface FitFlags { lut: string; measured: string; output: string; target: string; split?: string; json?: boolean }

/** A structure of the table's space as LUT choices (E_OPTION when it is of another space or variant). */
function choicesOf(t: Lut, text: string, where: string): LutChoices {
  const space = getSpace(t.meta.space);
  const entry = lutSpaceEntry(t.meta.space, '--lut');
  const g = space.decode(text);
  const variant = entry.variantOf(g);
  if (variant !== t.meta.variant) throw new ZennasError('E_OPTION', `${where}: the table is for ${t.meta.space}/${t.meta.variant}, the structure is a net of ${t.meta.space}/${variant}`);
  return entry.make(variant).toChoices(g);
}

const zennasVersion = (): string => `zennas ${packageVersion()}`;

/** How a table's pieces were timed, e.g. 'median of 50 runs after 10 warm-up' or 'median of 50 runs (interleaved 5x10+1) after 10 warm-up'. */
function runsLine(t: Lut): string {
  const p = t.meta.protocol !== undefined && t.meta.protocol !== 'sequential' ? ` (${t.meta.protocol})` : '';
  return `${t.meta.statistic} of ${t.meta.iterations} runs${p} after ${t.meta.warmup} warm-up`;
}

/** `zennas lut build | estimate | info`: latency lookup tables (src/lut). */
export function registerLutCommand(program: Command): void {
  const lut = program.command('lut').description('Latency lookup tables: build one for a space on a runtime, estimate a net from one, fit a correction, show one');
  lut.addHelpText('after', `
Examples:
  $ zennas lut build --space hardcore --runtime onnxruntime -r 32 --warmup 1 -i 3 -o quick.json && zennas lut info quick.json
Run 'zennas lut <command> --help' for each command's flags and examples.`);

  lut.command('build')
    .description('Measure every (stage, block position, configuration) block of a space in context, and its fixed part, on one runtime; resumable')
    .option('--space <id>', `space with LUT support: ${LUT_SPACE_IDS.join(', ')}`, 'hardcore')
    .option('--variant <name>', "variant of the space (hardcore: 'paper' (default) or 'official')")
    .option('--runtime <name>', `'onnxruntime' (CPU deployment runtime, default), 'cpu' (the zennas CPU engine), 'cuda' (the zennas GPU engine), 'tensorrt' (trtexec)`, 'onnxruntime')
    .option('-b, --batch-size <n>', 'images per run (default 1, HardCoRe-NAS\'s CPU protocol)', intOption('--batch-size', 1, 4096), 1)
    .option('-r, --resolution <n>', 'input resolution of the whole network', intOption('--resolution', 8, 4096), 224)
    .option('-c, --num-classes <n>', 'classes of the classifier (in the fixed tail)', intOption('--num-classes', 1, 1_000_000), 1000)
    .option('-t, --threads <n>', 'onnxruntime intra-op threads / CPU engine threads', intOption('--threads', 1, 1024), 1)
    .option('--warmup <n>', 'untimed runs per piece', intOption('--warmup', 0, 100000), 10)
    .option('-i, --iterations <n>', 'timed runs per piece (the median is stored)', intOption('--iterations', 1, 100000), 50)
    .option('--precision <p>', "'fp32' (CPU runtimes) or 'fp16' (GPU default)")
    .option('--clock <c>', "onnxruntime: 'wall' (default, elapsed) or 'cpu' (the run's CPU time, 1 thread: what the inference costs on a machine busy with other work)", 'wall')
    .option('--statistic <s>', "stored per piece: 'median' (default, HardCoRe-NAS's p50) or 'min' (least disturbed by other work on the machine)", 'median')
    .option('--overhead <mode>', "'subtracted' (default: the runtime's per-run overhead measured once, subtracted from every piece, counted once) or 'kept'", 'subtracted')
    .option('--passes <k>', "onnxruntime: interleaved protocol, K passes over a group of pieces, each timing every piece --runs-per-pass times in a seeded shuffled order (the statistic over all passes' runs replaces -i); recorded as the table's protocol", intOption('--passes', 1, 10000))
    .option('--runs-per-pass <n>', 'interleaved: timed runs of a piece per visit', intOption('--runs-per-pass', 1, 100000), 10)
    .option('--pass-warmup <n>', 'interleaved: untimed runs at each visit', intOption('--pass-warmup', 0, 100000), 1)
    .option('--group <n>', 'interleaved: block entries timed together, their sessions held at once (bounds memory); the table is written after each group. Entries of different groups drift apart: the default holds all 252 hardcore blocks in one group', intOption('--group', 1, 100000), 300)
    .option('--order-seed <n>', 'interleaved: seed of the visiting order', intOption('--order-seed', 0, 0xffffffff), 0)
    .requiredOption('-o, --output <file>', 'lut.json to write (a partial one there is resumed when its conditions match)')
    .option('--overwrite', 'start afresh even when --output holds a table')
    .option('--no-progress', 'no progress bar (plain lines on stderr instead)')
    .option('--json', 'print the finished table\'s meta as JSON')
    .addHelpText('after', `
Examples:
  $ zennas lut build --space hardcore --runtime onnxruntime -r 32 --warmup 1 -i 3 -o quick.json   # a quick, coarse table
  $ zennas lut build --space hardcore --runtime onnxruntime -o hardcore-ort-b1.json   # needs: ≈ 1 min on 2 idle cores (batch 1, 1 thread, 224², 50 runs per piece)
  $ zennas lut build --space hardcore --variant official --runtime onnxruntime --threads 2 -o official.json   # needs: ≈ 1 min on 2 idle cores
  $ zennas lut build --space hardcore --runtime cuda --batch-size 64 -o hardcore-gpu-b64.json   # needs: a GPU

Every table records its unit (ms), batch size, precision, runtime and version, threads and hardware;
tables or measurements that differ in any of them are never combined or compared. Interrupted
(Ctrl-C) builds keep what they measured: run the same command again to resume.`)
    .action(async (f: BuildFlags) => {
      if (!(LATENCY_RUNTIMES as readonly string[]).includes(f.runtime)) throw new ZennasError('E_OPTION', `--runtime must be ${LATENCY_RUNTIMES.map((r) => `'${r}'`).join(', ')}, got '${f.runtime}'`);
      if (f.clock !== 'wall' && f.clock !== 'cpu') throw new ZennasError('E_OPTION', `--clock must be 'wall' or 'cpu', got '${f.clock}'`);
      if (f.statistic !== 'median' && f.statistic !== 'min') throw new ZennasError('E_OPTION', `--statistic must be 'median' or 'min', got '${f.statistic}'`);
      if (f.overhead !== 'subtracted' && f.overhead !== 'kept') throw new ZennasError('E_OPTION', `--overhead must be 'subtracted' or 'kept', got '${f.overhead}'`);
      if (f.precision !== undefined && f.precision !== 'fp32' && f.precision !== 'fp16') throw new ZennasError('E_OPTION', `--precision must be 'fp32' or 'fp16', got '${f.precision}'`);
      const entry = lutSpaceEntry(f.space, '--space');
      const variant = f.variant ?? entry.defaultVariant;
      if (!entry.variants.includes(variant)) throw new ZennasError('E_OPTION', `--variant must be ${entry.variants.map((v) => `'${v}'`).join(' or ')}, got '${variant}'`);
      if (f.overwrite === undefined && fs.existsSync(f.output)) {
        const old = readLut(f.output); // a damaged or foreign file is refused here, before any measurement
        if (old.complete) {
          process.stderr.write(`zennas: ${f.output} already holds a complete table (${old.entries.length} entries); --overwrite to rebuild it\n`);
          if (f.json) process.stdout.write(JSON.stringify(old.meta) + '\n');
          return;
        }
      }
      const space = getLutSpace(f.space, variant);
      const runtime = await openLutRuntime({
        runtime: f.runtime as LatencyRuntime, batchSize: f.batchSize, threads: f.threads, warmup: f.warmup, iterations: f.iterations, clock: f.clock as 'wall' | 'cpu',
        ...(f.passes !== undefined ? { interleave: { passes: f.passes, runsPerPass: f.runsPerPass, passWarmup: f.passWarmup, groupSize: f.group, seed: f.orderSeed } } : {}),
        ...(f.precision ? { precision: f.precision as 'fp32' | 'fp16' } : {}),
      });
      const abort = new AbortController();
      const onSigint = () => {
        if (abort.signal.aborted) process.exit(130);
        abort.abort();
        process.stderr.write(`\nzennas: stopping after the current ${runtime.interleave ? 'group of pieces' : 'piece'}; run the same command to resume (Ctrl-C again to quit now)\n`);
      };
      process.on('SIGINT', onSigint);
      // A bar on a terminal, a plain line every few seconds in a log (src/cli/progress.ts).
      let bar: ReturnType<typeof startProgress> | undefined;
      const t0 = Date.now();
      const onProgress = (p: LutBuildProgress) => {
        bar ??= startProgress({ label: 'lut build', total: p.total, unit: 'pieces', enabled: f.progress && !f.json });
        bar.update(p.done, `${p.resumed ? `${p.resumed} resumed | ` : ''}${p.piece.name}${p.ms !== undefined ? ` ${p.ms.toFixed(3)} ms` : ''}`);
      };
      try {
        const t = await buildLut(space, runtime, {
          resolution: f.resolution, numClasses: f.numClasses, warmup: f.warmup, iterations: f.iterations, file: f.output,
          overwrite: !!f.overwrite, overhead: f.overhead as 'subtracted' | 'kept', statistic: f.statistic as 'median' | 'min', onProgress, signal: abort.signal, zennas: zennasVersion(),
        });
        bar?.stop();
        if (!t.complete) {
          process.stderr.write(`zennas: interrupted; ${f.output} holds ${t.entries.length} entries: run the same command to resume\n`);
          process.exitCode = 130;
          return;
        }
        if (f.json) { process.stdout.write(JSON.stringify(t.meta) + '\n'); return; }
        const ix = indexLut(t);
        process.stdout.write(
          `${f.output}: ${t.entries.length} block entries + ${t.fixed.length} fixed pieces of ${t.meta.space}/${t.meta.variant} at ${t.meta.resolution}×${t.meta.resolution} ` +
            `in ${formatDuration(Date.now() - t0)}\n` +
            `${t.meta.runtime} (${t.meta.runtimeVersion}), batch ${t.meta.batchSize}, ${t.meta.precision}, ${t.meta.threads} thread(s), ${t.meta.clock} clock, on ${t.meta.hardware}; ` +
            `${runsLine(t)}; fixed part ${ix.fixedMs.toFixed(3)} ms` +
            `${t.meta.overhead === 'subtracted' ? ` (incl. the per-run overhead ${t.meta.overheadMs.toFixed(3)} ms, subtracted from every piece)` : ''}\n`,
        );
      } finally {
        bar?.stop();
        process.off('SIGINT', onSigint);
        runtime.close();
      }
    });

  lut.command('estimate')
    .description('Latency of a net of the space from a table: Σ of its block entries + the fixed part')
    .argument('<structure|file>', 'a structure string of the space or a file holding one')
    .requiredOption('--lut <file>', 'lut.json (zennas lut build)')
    .option('--correction <file>', 'also the corrected estimate of a correction fitted on that table (zennas lut fit)')
    .option('--json', 'print one JSON object')
    .addHelpText('after', `
Examples:
  $ zennas lut build --space hardcore --runtime onnxruntime -r 32 --warmup 1 -i 3 -o quick.json
  $ zennas search --space hardcore --proxy params --iterations 4 --population 2 --out hc && zennas lut estimate hc/best.txt --lut quick.json`)
    .action((arg: string, f: EstimateFlags) => {
      const t = readLut(f.lut);
      const { structure } = loadStructureArg(arg);
      const ix = indexLut(t);
      const c = choicesOf(t, formatStructure(structure), '--lut');
      checkChoices(ix, c);
      const e = estimateLatency(ix, c);
      const corr = f.correction !== undefined ? readLutCorrection(f.correction) : undefined;
      if (corr) assertCorrectionFor(corr, t, `--correction ${f.correction}`);
      const corrected = corr ? correctedEstimate(ix, corr)(c) : undefined;
      const ctx = { unit: 'ms', batchSize: t.meta.batchSize, precision: t.meta.precision, runtime: t.meta.runtime, runtimeVersion: t.meta.runtimeVersion, hardware: t.meta.hardware, threads: t.meta.threads, clock: t.meta.clock };
      if (f.json) {
        process.stdout.write(JSON.stringify({ estimateMs: e.ms, ...(corrected !== undefined ? { correctedMs: corrected } : {}), fixedMs: e.fixedMs, blocksMs: e.blocksMs, stagesMs: e.stagesMs, depths: c.depths, configs: c.configs.map((s) => s.map((k) => t.meta.configs[k])), ...ctx }) + '\n');
        return;
      }
      process.stdout.write(
        `estimate ${e.ms.toFixed(3)} ms per run of ${t.meta.batchSize} (fixed ${e.fixedMs.toFixed(3)} + blocks ${e.blocksMs.toFixed(3)}: ` +
          `${e.stagesMs.map((x, s) => `stage ${s} ${x.toFixed(3)}`).join(', ')})\n` +
          (corrected !== undefined ? `corrected ${corrected.toFixed(3)} ms (${f.correction}: ridge on ${corr!.target === 'ratio' ? 'measured / estimate' : 'measured ms'}, fitted on ${corr!.fit.nets} nets)\n` : '') +
          `from ${f.lut}: ${t.meta.runtime} (${t.meta.runtimeVersion}), ${t.meta.precision}, ${t.meta.threads} thread(s), on ${t.meta.hardware}\n`,
      );
    });

  lut.command('fit')
    .description('Fit a latency correction of a table on measured whole nets (ridge on the block encoding, λ by cross-validation): for search --lut-correction')
    .requiredOption('--lut <file>', 'lut.json the correction is for (it records this table: using it with another is an error)')
    .requiredOption('--measured <file>', "measured nets: benchmarks/latency-model's results-*.json, or {context?, statistic?, rows: [{structure, measuredMs}]} (the table's conditions and statistic)")
    .requiredOption('-o, --output <file>', 'correction.json to write')
    .option('--target <t>', "'auto' (default: the one that cross-validates better), 'measured' (predict the ms) or 'ratio' (predict measured / estimate)", 'auto')
    .option('--split <name>', "fit only on the rows of this split (e.g. 'train': the benchmark's held-out rows stay out)")
    .option('--json', 'print the correction as JSON')
    .addHelpText('after', `
Examples:
  $ zennas lut fit --lut hardcore-ort-b1.json --measured results-onnxruntime-b1-cpu-median.json --split train -o correction.json   # needs: a table and its measured nets (benchmarks/latency-model)
  $ zennas search --space hardcore --lut hardcore-ort-b1.json --lut-correction correction.json --budget-latency 12ms --out hc   # needs: the table and its correction

The correction replaces the table's estimate in a search's budget check and repair; the final
measurement of the top candidates on the table's runtime is unchanged (the hard guarantee).`)
    .action((f: FitFlags) => {
      if (!['auto', 'measured', 'ratio'].includes(f.target)) throw new ZennasError('E_OPTION', `--target must be 'auto', 'measured' or 'ratio', got '${f.target}'`);
      const t = readLut(f.lut);
      if (!t.complete) throw new ZennasError('E_OPTION', `--lut ${f.lut}: the table is unfinished (resume its build first)`);
      const raw = readRegularText(f.measured, { maxBytes: 256 << 20, what: 'measured nets file' });
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch (e) {
        throw new ZennasError('E_OPTION', `--measured ${f.measured}: not JSON (${(e as Error).message})`);
      }
      const nets = measuredNetsOf(json, t, (s) => choicesOf(t, s, `--measured ${f.measured}`), { where: `--measured ${f.measured}`, ...(f.split !== undefined ? { split: f.split } : {}) });
      const corr = fitLutCorrection(t, nets, { target: f.target as 'auto', zennas: zennasVersion() });
      writeLutCorrection(f.output, corr);
      if (f.json) { process.stdout.write(JSON.stringify(corr) + '\n'); return; }
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
      process.stdout.write(
        `${f.output}: ridge on ${corr.target === 'ratio' ? 'measured / estimate' : 'measured ms'} (λ = ${corr.model.lambda}), fitted on ${corr.fit.nets} nets of ${f.measured}\n` +
          `in-sample |error| median ${pct(corr.fit.medianAbsRelError)}, p95 ${pct(corr.fit.p95AbsRelError)}, max ${pct(corr.fit.maxAbsRelError)}; cross-validated mean squared relative error ${corr.fit.cvError.toExponential(2)}\n` +
          `for ${f.lut} only (fingerprint ${corr.table.fingerprint.slice(0, 12)}…): zennas search … --lut ${f.lut} --lut-correction ${f.output}\n`,
      );
    });

  lut.command('info')
    .description('What a table holds and how it was measured')
    .argument('<lut.json>')
    .option('--json', 'print its meta as JSON')
    .addHelpText('after', `
Examples:
  $ zennas lut build --space hardcore --runtime onnxruntime -r 32 --warmup 1 -i 3 -o quick.json && zennas lut info quick.json`)
    .action((file: string, f: { json?: boolean }) => {
      const t = readLut(file);
      const ix = indexLut(t);
      if (f.json) { process.stdout.write(JSON.stringify({ complete: t.complete, entries: t.entries.length, fixedMs: ix.fixedMs, ...t.meta }) + '\n'); return; }
      const want = t.stages.reduce((a, s) => a + s.maxDepth, 0) * t.meta.configs.length;
      process.stdout.write(
        `${file}: ${t.meta.space}/${t.meta.variant} at ${t.meta.resolution}×${t.meta.resolution}, ${t.complete ? 'complete' : `unfinished (${t.entries.length}/${want} entries)`}\n` +
          `${t.meta.runtime} (${t.meta.runtimeVersion}), batch ${t.meta.batchSize}, ${t.meta.precision}, ${t.meta.threads} thread(s), ${t.meta.clock} clock, on ${t.meta.hardware}\n` +
          `${runsLine(t)}; overhead ${t.meta.overhead} (${t.meta.overheadMs.toFixed(3)} ms); fixed part ${ix.fixedMs.toFixed(3)} ms; ` +
          `configurations ${t.meta.configs.join(' ')}; built ${t.meta.created} by ${t.meta.zennas}\n`,
      );
    });
}
