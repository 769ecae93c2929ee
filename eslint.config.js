// Lint rules. The layering rule keeps dependencies pointing downward: each folder of src/ may import
// only the folders listed for it below, and only through their index.ts (see README "Architecture").
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const layers = {
  util: [],
  kernel: ['util'],
  ipam: ['util'],
  firewall: ['kernel', 'util'],
  store: ['util', 'ipam'],
  dns: ['kernel', 'util'],
  runtime: ['kernel', 'util'],
  images: ['runtime', 'store', 'kernel', 'util'],
  volumes: ['store', 'kernel', 'util'],
  cluster: ['runtime', 'kernel', 'ipam', 'util'],
  drivers: ['cluster', 'firewall', 'kernel', 'ipam', 'util'],
  host: ['drivers', 'images', 'runtime', 'firewall', 'kernel', 'util'],
  engine: ['host', 'drivers', 'cluster', 'images', 'volumes', 'ipam', 'store', 'runtime', 'dns', 'util'],
  audit: ['engine', 'images', 'store', 'runtime', 'firewall', 'kernel', 'util'],
  build: ['engine', 'images', 'util'],
  api: ['engine', 'audit', 'build', 'images', 'util'],
  sandbox: ['kernel', 'runtime', 'util'],
  cli: ['api', 'audit', 'build', 'engine', 'host', 'drivers', 'cluster', 'images', 'volumes', 'firewall', 'store', 'runtime', 'dns', 'sandbox', 'kernel', 'ipam', 'util'],
};
const root = dirname(fileURLToPath(import.meta.url));

/** Modules that start processes: only kernel/ and runtime/ may import them (tests aside). */
const SPAWNERS = new Set(['child_process', 'node:child_process', 'execa', 'cross-spawn', 'node-pty', 'shelljs', 'zx']);
const SPAWN_LAYERS = new Set(['kernel', 'runtime']);

/**
 * One rule for the shape of src/: a file of layer L may import another layer only when `layers[L]`
 * lists it, and then only through that layer's index.ts (tests beside their file may reach a lower
 * layer's internals); no file of src/ imports test/; only kernel/ and runtime/ import SPAWNERS.
 */
const layering = {
  meta: { type: 'problem', schema: [] },
  create(context) {
    const file = context.filename;
    const rel = relative(root, file).split(sep);
    const inSrc = rel[0] === 'src' && rel.length > 2;
    const layer = inSrc ? rel[1] : undefined;
    const isTest = /\.test\.ts$/.test(file);
    const check = (node, source) => {
      if (typeof source !== 'string') return;
      if (inSrc && !isTest && SPAWNERS.has(source) && !SPAWN_LAYERS.has(layer)) {
        context.report({ node, message: `${layer}/ may not start processes (${source}): only kernel/ and runtime/ do; use kernel's run()` });
      }
      if (!inSrc || !source.startsWith('.')) return;
      if (!(layer in layers)) {
        context.report({ node, message: `src/${layer}/ is not in eslint.config.js's layers table (add it, and a README row)` });
        return;
      }
      const target = relative(root, resolve(dirname(file), source)).split(sep);
      if (target[0] === 'test') {
        context.report({ node, message: 'src/ may not import test/: test helpers import src/, never the reverse' });
        return;
      }
      if (target[0] !== 'src' || target.length < 3 || target[1] === layer) return;
      const to = target[1];
      if (!layers[layer].includes(to)) {
        context.report({ node, message: `${layer}/ may not import ${to}/ (layers point downward)` });
      } else if (!isTest && !(target.length === 3 && /^index\.(js|ts)$/.test(target[2]))) {
        context.report({ node, message: `import ${to}/ only through ${to}/index.ts, its public surface (not ${target.slice(1).join('/')})` });
      }
    };
    return {
      ImportDeclaration: (n) => check(n, n.source.value),
      ExportNamedDeclaration: (n) => n.source && check(n, n.source.value),
      ExportAllDeclaration: (n) => check(n, n.source.value),
      ImportExpression: (n) => n.source.type === 'Literal' && check(n, n.source.value),
    };
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { redes: { rules: { layering } } },
    rules: { 'redes/layering': 'error' },
  },
  {
    // Modules stay readable: none over 500 lines (tests and generated data tables aside).
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    rules: { 'max-lines': ['error', { max: 500 }] },
  },
);
