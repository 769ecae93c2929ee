// Lint rules. The layering rule keeps dependencies pointing downward: each folder of src/ may import
// only the folders listed below it (see README "Architecture").
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
  engine: ['drivers', 'cluster', 'images', 'volumes', 'ipam', 'store', 'runtime', 'dns', 'util'],
  audit: ['engine', 'firewall', 'kernel', 'util'],
  api: ['engine', 'audit', 'images', 'util'],
  sandbox: ['kernel', 'runtime', 'util'],
  cli: ['api', 'audit', 'engine', 'drivers', 'cluster', 'images', 'volumes', 'firewall', 'store', 'runtime', 'dns', 'sandbox', 'kernel', 'ipam', 'util'],
};
const all = Object.keys(layers);

const layerRules = Object.entries(layers).map(([layer, allowed]) => ({
  files: [`src/${layer}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: all
        .filter((l) => l !== layer && !allowed.includes(l))
        .map((l) => ({ group: [`../${l}/*`, `../../${l}/*`, `../${l}`, `../../${l}`], message: `${layer}/ may not import ${l}/ (layers point downward)` })),
    }],
  },
}));

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
  ...layerRules,
);
