// Bundles benchmarks/device/kit.ts (the GPU test, the GPU benchmarks, the candidates stage, the
// report and the zennas CLI) into one CommonJS file for the device kit: no node_modules there.
//   node benchmarks/device/bundle.mjs REPO_ROOT OUTFILE
// - `ava` resolves to benchmarks/device/mini-ava.ts;
// - `__dirname` / `__filename` of every bundled repository file become that file's folder/path
//   inside the kit (the kit keeps the repository's layout), so the benchmarks find their Python
//   scripts and zoo files and src/engine/native.ts finds the kit's package.json and addons;
// - `require('…/package.json')` from src/ resolves as it would from the compiled dist/src/;
// - the native addons (*.node) stay outside: they are loaded by path at run time.
import * as fs from 'fs';
import * as path from 'path';
import { createRequire } from 'module';

const [root, outfile] = process.argv.slice(2).map((p) => path.resolve(p));
if (!root || !outfile) {
  console.error('usage: node benchmarks/device/bundle.mjs REPO_ROOT OUTFILE');
  process.exit(2);
}
const esbuild = createRequire(path.join(root, 'package.json'))('esbuild');

const inRepo = (f) => f.startsWith(root + path.sep) && !f.includes(`${path.sep}node_modules${path.sep}`);
const rel = (f) => path.relative(root, f).split(path.sep).join('/');

const kitPlugin = {
  name: 'zennas-device-kit',
  setup(build) {
    build.onResolve({ filter: /^ava$/ }, () => ({ path: path.join(root, 'benchmarks/device/mini-ava.ts') }));
    // Distributed scoring (BullMQ, ioredis) is not part of the kit: the device machine has no network,
    // and their optional requires would leave node_modules names in the bundle. The CLI's worker /
    // --queue modules load a stub that says so if used.
    build.onResolve({ filter: /(^|\/)distributed(\/[\w-]+)?$/ }, (args) => {
      if (!inRepo(args.importer) || !args.path.startsWith('.')) return undefined;
      return { path: 'zennas-distributed-stub', namespace: 'zennas-kit' };
    });
    build.onLoad({ filter: /^zennas-distributed-stub$/, namespace: 'zennas-kit' }, () => ({
      contents: "module.exports = new Proxy({}, { get(_, k) { if (k === '__esModule' || typeof k === 'symbol') return undefined; throw new Error('zennas device kit: distributed scoring (zennas worker, --queue) is not part of the kit'); } });",
      loader: 'js',
    }));
    build.onResolve({ filter: /(^|\/)package\.json$/ }, (args) => {
      if (!inRepo(args.importer) || !args.path.startsWith('.')) return undefined;
      const direct = path.resolve(args.resolveDir, args.path);
      if (fs.existsSync(direct)) return { path: direct };
      // Written for the compiled layout (dist/src/cli/main.js → ../../../package.json).
      const compiled = path.resolve(root, 'dist', path.relative(root, args.resolveDir), args.path);
      return fs.existsSync(compiled) ? { path: compiled } : undefined;
    });
    build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
      if (!inRepo(args.path)) return undefined;
      let text = fs.readFileSync(args.path, 'utf8');
      if (/\b__(dirname|filename)\b/.test(text)) {
        text = text
          .replace(/\b__dirname\b/g, `__zennasKitPath(${JSON.stringify(rel(path.dirname(args.path)))})`)
          .replace(/\b__filename\b/g, `__zennasKitPath(${JSON.stringify(rel(args.path))})`);
      }
      const ext = path.extname(args.path);
      return { contents: text, loader: ext === '.ts' || ext === '.mts' || ext === '.cts' ? 'ts' : 'js' };
    });
  },
};

const result = await esbuild.build({
  entryPoints: [path.join(root, 'benchmarks/device/kit.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  sourcesContent: false,
  external: ['*.node'],
  logLevel: 'warning',
  logOverride: { 'empty-import-meta': 'silent' },
  metafile: true,
  banner: {
    js: [
      '// zennas device kit bundle (benchmarks/device/bundle.mjs); run it with the kit\'s node (benchmarks/device/run).',
      'var __ZENNAS_KIT_ROOT = __dirname;',
      'function __zennasKitPath(p) { return require("path").join(__ZENNAS_KIT_ROOT, p); }',
    ].join('\n'),
  },
  plugins: [kitPlugin],
});
const inputs = Object.keys(result.metafile.inputs);
const ours = inputs.filter((f) => !f.includes('node_modules'));
console.log(`bundle: ${rel(outfile)} ${(fs.statSync(outfile).size / 1048576).toFixed(2)} MiB from ${inputs.length} files (${ours.length} of the repository)`);
