/**
 * Fuzz of the .npy reader (src/util/npy.ts, what `--data` / `--labels` read), fixed seeds: byte
 * flips, truncations and random headers from the literal's own alphabet either decode to an array
 * that matches its header or fail with E_PARSE — never another error, never a hang.
 */
import test from 'ava';
import { isZennasError } from '../src/errors';
import { decodeNpy, encodeNpy, imagesFromNpy, labelsFromNpy } from '../src/util/npy';
import { Sfc32 } from '../src/rng/sfc32';

/** Decode `buf` as images and as labels; anything thrown must be E_PARSE. Returns whether it decoded. */
function probe(t: import('ava').ExecutionContext, buf: Buffer, what: string): boolean {
  let ok = false;
  try {
    const n = decodeNpy(buf, what);
    t.is(n.data.length, n.shape.reduce((a, b) => a * b, 1), `${what}: data length = Π shape`);
    ok = true;
    try { imagesFromNpy(n, what); } catch (e) { if (!isZennasError(e) || e.code !== 'E_PARSE') throw e; }
    try { labelsFromNpy(n, what); } catch (e) { if (!isZennasError(e) || e.code !== 'E_PARSE') throw e; }
  } catch (e) {
    if (!isZennasError(e) || e.code !== 'E_PARSE') t.fail(`${what}: ${(e as Error)?.stack ?? String(e)}`);
  }
  return ok;
}

const X = encodeNpy(Float32Array.from({ length: 2 * 3 * 4 * 4 }, (_, i) => i - 7.5), [2, 3, 4, 4]);
const Y = encodeNpy(Int32Array.from([0, 4, 9, 2]), [4]);

test('byte flips in the header and data (seeds 0..3, 600 files): decoded or E_PARSE', (t) => {
  let decoded = 0;
  for (let seed = 0; seed < 4; seed++) {
    const rng = new Sfc32(seed);
    for (let k = 0; k < 150; k++) {
      const base = k % 2 ? X : Y;
      const buf = Buffer.from(base);
      const flips = 1 + rng.int(4);
      // Mostly the header (10 + 118 bytes), where the parser works.
      for (let f = 0; f < flips; f++) buf[rng.next() < 0.85 ? rng.int(Math.min(buf.length, 128)) : rng.int(buf.length)] = rng.int(256);
      if (probe(t, buf, `seed ${seed} file ${k}`)) decoded++;
    }
  }
  t.log(`${decoded} of 600 mutated files still decode`);
  t.true(decoded > 0 && decoded < 600, 'some mutations are harmless (padding, data), some are not');
});

test('truncations and extensions at every length: only the exact file decodes', (t) => {
  for (const base of [X, Y]) {
    for (let n = 0; n <= base.length + 8; n++) {
      const buf = n <= base.length ? base.subarray(0, n) : Buffer.concat([base, Buffer.alloc(n - base.length)]);
      t.is(probe(t, Buffer.from(buf), `length ${n}`), n === base.length, `length ${n} of ${base.length}`);
    }
  }
});

test('random headers from the literal alphabet (seed 7, 2000 headers): decoded or E_PARSE', (t) => {
  const rng = new Sfc32(7);
  const atoms = ["{", "}", "(", ")", "[", "]", ":", ",", " ", "'descr'", "'shape'", "'fortran_order'", "'<f4'", "'<i8'", "'|u1'", "'>f4'", "True", "False", "0", "1", "2", "16", "'", '"', "\\", "None", "-1", "1e3", "99999999999999999"];
  let decoded = 0;
  for (let k = 0; k < 2000; k++) {
    let h: string;
    if (k % 4 === 0) {
      // Near-valid: the right dict with one atom inserted somewhere.
      const good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
      const at = rng.int(good.length + 1);
      h = good.slice(0, at) + atoms[rng.int(atoms.length)]! + good.slice(at);
    } else {
      h = Array.from({ length: 1 + rng.int(20) }, () => atoms[rng.int(atoms.length)]!).join('');
    }
    h += '\n';
    const head = Buffer.alloc(10);
    head.write('\x93NUMPY', 0, 'latin1');
    head[6] = 1;
    head.writeUInt16LE(h.length, 8);
    if (probe(t, Buffer.concat([head, Buffer.from(h, 'latin1'), Buffer.alloc(16)]), `header ${JSON.stringify(h)}`)) decoded++;
  }
  t.log(`${decoded} of 2000 random headers decode`);
  t.true(decoded > 0);
});
