/**
 * The ZenNet model zoo, shipped in the package (`zoo/*.txt`, the structure files of the official
 * idstcv/ZenNAS `ZenNet/` folder). Each entry is one of the official `zennet_model_zoo` names with
 * what the official code builds it with (classes, SE, resolution), so `zennas info zennet-1M`
 * counts the net as it was trained without flags. Several names share a structure file (the
 * CIFAR-10 and CIFAR-100 nets differ only in their classifier).
 */
import * as fs from 'fs';
import * as path from 'path';
import { keyedError, opt } from '../util/keyed-error';

/** One net of the ZenNet zoo: its official name, short names, structure file, dataset, classes, SE and resolution. */
export interface ZooEntry {
  /** The official zoo name, e.g. `zennet_cifar10_model_size1M_res32`. */
  readonly name: string;
  /** Short names accepted as well (the paper's, e.g. `zennet-1M`, `zennet-400M-SE`, `zennet-0.1ms`). */
  readonly aliases: readonly string[];
  /** File under zoo/ holding the structure string. */
  readonly file: string;
  readonly dataset: 'cifar10' | 'cifar100' | 'imagenet1k';
  readonly numClasses: number;
  /** SE modules in the residual blocks (the official `use_SE`). */
  readonly se: boolean;
  /** Input resolution it was searched and trained at. */
  readonly resolution: number;
  /** What the net was searched under (paper): `1M params`, `400M FLOPs`, `0.1 ms on V100 (batch 64, FP16)`. */
  readonly budget: string;
}

function cifar(size: '05M' | '1M' | '2M', classes: 10 | 100): ZooEntry {
  const short = size === '05M' ? '0.5M' : size;
  return {
    name: `zennet_cifar${classes}_model_size${size}_res32`,
    aliases: classes === 10 ? [`zennet-${short}`, `zennet-cifar10-${short}`] : [`zennet-${short}-cifar100`, `zennet-cifar100-${short}`],
    file: `zennet_cifar_model_size${size}_res32.txt`,
    dataset: classes === 10 ? 'cifar10' : 'cifar100', numClasses: classes, se: false, resolution: 32,
    budget: `${short} params`,
  };
}

function flops(m: 400 | 600 | 900): ZooEntry {
  return {
    name: `zennet_imagenet1k_flops${m}M_SE_res224`, aliases: [`zennet-${m}M-SE`, `zennet-${m}M`],
    file: `zennet_imagenet1k_flops${m}M_res224.txt`, dataset: 'imagenet1k', numClasses: 1000, se: true, resolution: 224,
    budget: `${m}M FLOPs`,
  };
}

function latency(tag: '01' | '02' | '03' | '05' | '08' | '12'): ZooEntry {
  const ms = `${tag[0]}.${tag[1]}`;
  return {
    name: `zennet_imagenet1k_latency${tag}ms_res224`, aliases: [`zennet-${ms}ms`],
    file: `zennet_imagenet1k_latency${tag}ms_res224.txt`, dataset: 'imagenet1k', numClasses: 1000, se: false, resolution: 224,
    budget: `${ms} ms per image on a V100 (batch 64, FP16)`,
  };
}

/** Every zoo net, in the official list's order. */
export const ZOO: readonly ZooEntry[] = [
  cifar('05M', 10), cifar('1M', 10), cifar('2M', 10), cifar('05M', 100), cifar('1M', 100), cifar('2M', 100),
  flops(400), flops(600), flops(900),
  latency('01'), latency('02'), latency('03'), latency('05'), latency('08'), latency('12'),
];

/** The package's zoo/ folder (from src/zoo under tsx and from dist/src/zoo when compiled). */
export function zooDir(): string {
  for (const up of ['../..', '../../..', '.']) { // src/zoo, dist/src/zoo, a bundle beside zoo/
    const dir = path.resolve(__dirname, up, 'zoo');
    if (fs.existsSync(path.join(dir, ZOO[0]!.file))) return dir;
  }
  throw keyedError('E_IO')`the ZenNet zoo folder is missing from this installation (looked next to ${path.resolve(__dirname, '../..')})`;
}

const norm = (s: string) => s.trim().toLowerCase().replace(/\.txt$/, '');

/**
 * The zoo entry named `name`: an official name, an alias, or a structure file's own name (with or
 * without `.txt`; a CIFAR file names its CIFAR-10 net). Undefined when nothing matches.
 */
export function findZooEntry(name: string): ZooEntry | undefined {
  const n = norm(name);
  return ZOO.find((e) => norm(e.name) === n || e.aliases.some((a) => a.toLowerCase() === n)) ??
    ZOO.find((e) => norm(e.file) === n);
}

/** The zoo entry named `name`, or E_OPTION listing the names (for `--model`-style lookups). */
export function getZooEntry(name: string): ZooEntry {
  const e = findZooEntry(name);
  if (!e) throw keyedError('E_OPTION')`${opt('model')}: '${name}' is not a ZenNet zoo name; known: ${ZOO.map((z) => z.aliases[0]).join(', ')} (or the official names: zennas zoo)`;
  return e;
}

/** Absolute path of an entry's structure file. */
export function zooFile(e: ZooEntry): string {
  return path.join(zooDir(), e.file);
}
