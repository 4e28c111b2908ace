/**
 * Issue #13 items 2, 3, 11, 13, 15: structures from the shipped ZenNet zoo by name, from stdin
 * (`-`), from files with `#` comments; one table of defaults, and the zoo nets' own settings.
 */
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { BIN, zennas } from './helpers/cli';
import { ZOO, findZooEntry, zooFile } from '../src/zoo';
import { countModel } from '../src/model/count';
import { parseStructure } from '../src/grammar/parse';
import { DEFAULTS } from '../src/defaults';
import { stripComments } from '../src/cli/structure-input';
import { human, exact, countText, bytesText } from '../src/cli/format';

const json = (r: { code: number | null; stdout: string; stderr: string }) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
};

test('the zoo: 15 official names, every file parses, every alias and file name resolves to one entry', (t) => {
  t.is(ZOO.length, 15);
  t.is(new Set(ZOO.map((e) => e.name)).size, 15);
  const aliases = ZOO.flatMap((e) => e.aliases.map((a) => a.toLowerCase()));
  t.is(new Set(aliases).size, aliases.length, 'no alias names two nets');
  for (const e of ZOO) {
    t.true(fs.statSync(zooFile(e)).isFile(), e.file);
    t.notThrows(() => parseStructure(fs.readFileSync(zooFile(e), 'utf8')));
    t.is(findZooEntry(e.name), e);
    for (const a of e.aliases) t.is(findZooEntry(a), e, a);
    t.is(findZooEntry(e.name.toUpperCase()), e, 'case-insensitive');
  }
  // A CIFAR file's own name is its CIFAR-10 net; the ImageNet FLOPs nets are the SE ones.
  t.is(findZooEntry('zennet_cifar_model_size1M_res32.txt')!.name, 'zennet_cifar10_model_size1M_res32');
  t.true(findZooEntry('zennet-400M-SE')!.se);
  t.is(findZooEntry('zennet-3M'), undefined);
});

test('info on a zoo name counts the net as the official code builds it (classes, SE, resolution)', (t) => {
  const one = json(zennas('info', 'zennet-1M', '--json'));
  t.is(one.zoo, 'zennet_cifar10_model_size1M_res32');
  t.is(one.resolution, 32);
  t.is(one.source, 'zoo:zennet_cifar10_model_size1M_res32');
  const s = parseStructure(fs.readFileSync(zooFile(findZooEntry('zennet-1M')!), 'utf8'));
  t.is(one.params, countModel(s, { resolution: 32, numClasses: 10 }).params);
  const c100 = json(zennas('info', 'zennet_cifar100_model_size1M_res32', '--json'));
  t.is(c100.params - one.params, 512 * 90 + 90, 'the CIFAR-100 net differs only by its 512→100 classifier');
  const se = json(zennas('info', 'zennet-400M-SE', '--json'));
  t.true(se.se);
  t.is(se.resolution, 224);
  const noSe = json(zennas('info', 'zennet-400M-SE', '--no-se', '--json'));
  t.false(noSe.se);
  t.true(se.params > noSe.params, 'SE modules add parameters');
  // Flags win over the zoo's settings.
  const r64 = json(zennas('info', 'zennet-1M', '-r', '64', '-c', '100', '--json'));
  t.is(r64.resolution, 64);
  t.is(r64.params, c100.params);
});

test('a structure without settings gets the one table of defaults (CIFAR: 32×32, 100 classes), in info and score', (t) => {
  const s = 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)';
  const info = json(zennas('info', s, '--json'));
  t.is(info.resolution, DEFAULTS.resolution);
  t.is(info.params, countModel(parseStructure(s), { resolution: 32, numClasses: DEFAULTS.numClasses }).params);
  const score = json(zennas('score', s, '-n', '1', '--json'));
  t.is(score.resolution, DEFAULTS.resolution);
  t.is(score.batchSize, DEFAULTS.batchSize);
  t.is(DEFAULTS.resolution, 32);
  t.is(DEFAULTS.batchSize, 64);
  // The API counts with the same default classes as the CLI.
  t.is(countModel(parseStructure(s), { resolution: 32 }).params, info.params);
});

test("'-' reads the structure from stdin; files and stdin may hold # comments and blank lines", (t) => {
  const text = '# a tiny net\n\nSuperConvK3BNRELU(3,8,1,1)   # stem\n  SuperResK3K3(8,16,2,8,1)\n\n';
  const viaStdin = spawnSync(process.execPath, [BIN, 'info', '-', '--json'], { input: text, encoding: 'utf8' });
  t.is(viaStdin.status, 0, viaStdin.stderr);
  const a = JSON.parse(viaStdin.stdout);
  t.is(a.structure, 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)');
  t.is(a.source, 'stdin');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-zoo-'));
  try {
    const f = path.join(dir, 'net.txt');
    fs.writeFileSync(f, text);
    const b = json(zennas('info', f, '--json'));
    t.is(b.structure, a.structure);
    t.is(b.params, a.params);
    // A copy of a zoo file keeps the zoo net's settings; an edited copy does not.
    const copy = path.join(dir, 'zennet_cifar_model_size1M_res32.txt');
    fs.copyFileSync(zooFile(findZooEntry('zennet-1M')!), copy);
    t.is(json(zennas('info', copy, '--json')).zoo, 'zennet_cifar10_model_size1M_res32');
    fs.writeFileSync(copy, 'SuperConvK3BNRELU(3,8,1,1)');
    t.is(json(zennas('info', copy, '--json')).zoo, undefined);
    // An empty stdin is a parse error, not a hang or a crash.
    const empty = spawnSync(process.execPath, [BIN, 'info', '-'], { input: '# nothing\n', encoding: 'utf8' });
    t.is(empty.status, 2);
    t.regex(empty.stderr, /^zennas: error \[E_PARSE\]: stdin: /);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  t.is(stripComments('A(1)#x\n#y\nB(2)'), 'A(1)\n\nB(2)');
});

test('an unknown name says what it tried; score -n 1 prints n/a for the interval', (t) => {
  const r = zennas('info', 'zennet-3M');
  t.is(r.code, 2);
  t.regex(r.stderr, /'zennet-3M' is neither a structure string .*, a ZenNet zoo name \(zennas zoo lists them\) nor an existing file/);
  const one = zennas('score', 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)', '-n', '1', '-b', '4');
  t.is(one.code, 0, one.stderr);
  t.regex(one.stdout, /^Zen-score -?\d+\.\d{4} ± n\/a \(1 repeat: no interval/);
  t.notRegex(one.stdout, /± 0\.0000/);
});

test('zennas zoo lists every net with its counts (text and JSON)', (t) => {
  const rows = json(zennas('zoo', '--json'));
  t.is(rows.length, 15);
  const one = rows.find((r: { name: string }) => r.name === 'zennet_cifar10_model_size1M_res32');
  t.true(one.params > 0.95e6 && one.params < 1.05e6, String(one.params));
  const text = zennas('zoo');
  t.is(text.code, 0);
  for (const e of ZOO) t.true(text.stdout.includes(e.name), e.name);
});

test('one number style: counts to 3 significant digits with the exact value beside them, sizes in binary units', (t) => {
  t.is(human(1_039_932), '1.04M');
  t.is(human(520_580), '521k');
  t.is(exact(1_039_932), '1,039,932');
  t.is(countText(1_039_932), '1.04M (1,039,932)');
  t.is(countText(950), '950');
  t.is(bytesText(512), '512 B');
  t.is(bytesText(3_355_443), '3.2 MiB');
  t.is(bytesText(126_070_000), '120 MiB');
  const info = zennas('info', 'zennet-1M');
  t.regex(info.stdout, /^params {2}994k \(993,762\) {3}without classifier 989k \(988,632\)/m);
  t.regex(info.stdout, /^FLOPs {3}159M \(159,213,568\) multiply-adds/m);
});
