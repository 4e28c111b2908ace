/**
 * report.html as a browser draws it: headless Chromium renders the report of a real (toy-scored,
 * latency-measured) run. The screenshot must be a page, not a blank; a probe copy of the page
 * (the report itself has no scripts) measures the laid-out DOM: every SVG on the page with a
 * size and none on top of another, the legend's real text box clear of every data point, and the
 * fronts' networks listed. Skips, saying why, when no Chromium is installed (.ci/run installs it).
 */
import test from 'ava';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { runSearch } from '../src/search/evolution';
import { paretoFront, ReportCandidate } from '../src/report';
import { Structure } from '../src/grammar/ast';
import { formatStructure } from '../src/grammar/format';
import { countModel } from '../src/model/count';
import { smallConfig, tmp, toyZen } from './helpers/runs';

/** The Chromium binary: ZENNAS_CHROMIUM, else the first of the usual names that runs. */
function findChromium(): { bin?: string; reason?: string } {
  const names = [process.env.ZENNAS_CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome'].filter((n): n is string => !!n);
  for (const n of names) {
    const r = spawnSync(n, ['--version'], { encoding: 'utf8', timeout: 20_000 });
    if (r.status === 0) return { bin: n };
  }
  return { reason: `no Chromium (tried ${names.join(', ')}; apt-get install chromium, or set ZENNAS_CHROMIUM)` };
}

const chromium = findChromium();
if (!chromium.bin) console.log(`  [skip] report-chromium: ${chromium.reason}`);
const maybe = chromium.bin ? test.serial : test.skip;

function runChromium(args: string[], profile: string): string {
  const r = spawnSync(chromium.bin!, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--user-data-dir=${profile}`, ...args], {
    encoding: 'utf8', timeout: 90_000, maxBuffer: 64 * 2 ** 20,
  });
  if (r.status !== 0) throw new Error(`chromium exited ${r.status ?? r.signal}: ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

/** Decode an 8-bit RGB/RGBA, non-interlaced PNG (what Chromium writes) to its pixels. */
function decodePng(buf: Buffer): { width: number; height: number; channels: number; pixels: Buffer } {
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let off = 8;
  let width = 0, height = 0, depth = 0, type = 0, interlace = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const kind = buf.toString('ascii', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (kind === 'IHDR') { width = data.readUInt32BE(0); height = data.readUInt32BE(4); depth = data[8]!; type = data[9]!; interlace = data[12]!; }
    if (kind === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const channels = type === 6 ? 4 : type === 2 ? 3 : 0;
  if (depth !== 8 || !channels || interlace) throw new Error(`unsupported PNG (depth ${depth}, colour type ${type}, interlace ${interlace})`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x]!;
      const a = x >= channels ? px[y * stride + x - channels]! : 0;
      const b = y > 0 ? px[(y - 1) * stride + x]! : 0;
      const c = x >= channels && y > 0 ? px[(y - 1) * stride + x - channels]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      px[y * stride + x] = (v + pred) & 255;
    }
  }
  return { width, height, channels, pixels: px };
}

/** Measures the laid-out page; writes its findings into <pre id="probe"> for --dump-dom. */
const PROBE = `<script>
(() => {
  const rect = (r) => ({ x: r.left, y: r.top, width: r.width, height: r.height });
  const hit = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
  const svgs = [...document.querySelectorAll('body > svg, .plots > svg')].map((s) => ({ title: s.querySelector('title').textContent, box: rect(s.getBoundingClientRect()) }));
  const legendHits = [];
  let points = 0;
  for (const svg of document.querySelectorAll('svg')) {
    const legend = svg.querySelector('g.legend');
    if (!legend) continue;
    const lb = legend.getBBox();
    const area = svg.querySelector('rect.plot-area').getBBox();
    if (hit(lb, area)) legendHits.push(svg.querySelector('title').textContent + ': legend text box meets the plot area');
    for (const c of svg.querySelectorAll('g.points circle')) {
      points++;
      if (hit(lb, c.getBBox())) legendHits.push(svg.querySelector('title').textContent + ': legend covers a point');
    }
  }
  const fronts = {};
  for (const t of document.querySelectorAll('table[id^="front-"]')) fronts[t.id] = [...t.querySelectorAll('td.s')].map((td) => td.textContent);
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify({ svgs, legendHits, points, fronts, width: document.documentElement.scrollWidth, viewport: innerWidth });
  document.body.appendChild(pre);
})();
</script>`;

maybe('headless Chromium: the report renders as a page, its SVGs laid out apart, legends clear of the data, the fronts\' nets listed', async (t) => {
  const dir = tmp('report-chromium');
  const profile = tmp('report-chromium-profile');
  const cfg = smallConfig({ iterations: 150, budgets: { params: 300e3, layers: 12, latencyMs: 40 } });
  const latency = async (s: Structure) => (formatStructure(s) === cfg.initial ? 1 : 2 + countModel(s, { resolution: 32 }).flops / 1e6);
  await runSearch(cfg, { scorer: toyZen, outDir: dir, latency, runInfo: { threads: 2 } });
  const html = path.join(dir, 'report.html');

  // The screenshot: a 1280×2400 page with text and drawings on it, not a blank.
  const png = path.join(dir, 'report.png');
  runChromium([`--screenshot=${png}`, '--window-size=1280,2400', `file://${html}`], profile);
  const img = decodePng(fs.readFileSync(png));
  t.is(img.width, 1280);
  t.is(img.height, 2400);
  let ink = 0;
  const colours = new Set<number>();
  for (let i = 0; i < img.pixels.length; i += img.channels) {
    const [r, g, b] = [img.pixels[i]!, img.pixels[i + 1]!, img.pixels[i + 2]!];
    if (r < 235 || g < 235 || b < 235) ink++;
    colours.add((r << 16) | (g << 8) | b);
  }
  const share = ink / (img.width * img.height);
  t.true(share > 0.03 && share < 0.6, `share of non-white pixels ${share.toFixed(3)}`);
  t.true(colours.size > 50, `${colours.size} colours`);

  // The laid-out DOM, measured by the probe copy.
  const probeHtml = path.join(dir, 'probe.html');
  fs.writeFileSync(probeHtml, fs.readFileSync(html, 'utf8').replace('</body>', `${PROBE}\n</body>`));
  const dom = runChromium(['--dump-dom', '--window-size=1280,2400', '--virtual-time-budget=5000', `file://${probeHtml}`], profile);
  const m = dom.match(/<pre id="probe">([\s\S]*?)<\/pre>/);
  t.truthy(m, 'the probe ran');
  const probe = JSON.parse(m![1]!.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')) as {
    svgs: Array<{ title: string; box: { x: number; y: number; width: number; height: number } }>;
    legendHits: string[]; points: number; fronts: Record<string, string[]>; width: number; viewport: number;
  };
  const titles = probe.svgs.map((s) => s.title);
  for (const re of [/^Best network/, /Pareto front: Zen-score vs params/, /Pareto front: Zen-score vs FLOPs/, /Pareto front: Zen-score vs latency/, /Best Zen-score vs iteration/]) {
    t.true(titles.some((x) => re.test(x)), `an SVG titled ${re}`);
  }
  for (const s of probe.svgs) t.true(s.box.width > 100 && s.box.height > 100, `${s.title} is laid out (${s.box.width}×${s.box.height})`);
  for (let i = 0; i < probe.svgs.length; i++) {
    for (let j = i + 1; j < probe.svgs.length; j++) {
      const a = probe.svgs[i]!.box, b = probe.svgs[j]!.box;
      t.false(a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height, `${probe.svgs[i]!.title} and ${probe.svgs[j]!.title} overlap`);
    }
  }
  t.true(probe.points > 100, `${probe.points} data points drawn`);
  t.deepEqual(probe.legendHits, []);
  t.true(probe.width <= probe.viewport, `no horizontal scrolling (${probe.width} > ${probe.viewport})`);
  const cands = fs.readFileSync(path.join(dir, 'candidates.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ReportCandidate);
  t.deepEqual(probe.fronts['front-scoreVsParams'], paretoFront(cands, 'params').map((c) => c.structure));
  t.deepEqual(probe.fronts['front-scoreVsFlops'], paretoFront(cands, 'flops').map((c) => c.structure));
  t.deepEqual(probe.fronts['front-scoreVsLatency'], paretoFront(cands, 'latencyMs').map((c) => c.structure));
  fs.rmSync(profile, { recursive: true, force: true });
});
