/**
 * The error catalogue against the sources: every code thrown in src/ is in ERROR_CODES with the kind
 * of the helper that throws it, every catalogued code is thrown somewhere, codes are spelled one way,
 * and every throw site of a code with Docker's text writes that text. The sources are read with
 * TypeScript's parser (no type checking), from the repository's src/ beside dist/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { ERROR_CODES, isErrorCode } from './error-codes.js';
import type { ErrorKind } from './errors.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

const HELPERS: Record<string, ErrorKind> = {
  invalidParameter: 'invalid-parameter',
  notFound: 'not-found',
  conflict: 'conflict',
  forbidden: 'forbidden',
  tooLarge: 'too-large',
  notImplemented: 'not-implemented',
  unavailable: 'unavailable',
  internal: 'internal',
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? tsFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

interface Site {
  where: string;
  code: string;
  kind: ErrorKind;
  message: ts.Expression | undefined;
  consts: Map<string, string>;
}

const sources = tsFiles(join(root, 'src')).filter((f) => !f.endsWith('.test.ts'));
const parsed = sources.map((f) => ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true));

/** String constants by name: a file's own first, then those of every file (constants are imported). */
const globalConsts = new Map<string, string>();
function constsOf(sf: ts.SourceFile): Map<string, string> {
  const own = new Map<string, string>();
  for (const st of sf.statements) {
    if (!ts.isVariableStatement(st)) continue;
    for (const d of st.declarationList.declarations) {
      if (ts.isIdentifier(d.name) && d.initializer && ts.isStringLiteralLike(d.initializer)) own.set(d.name.text, d.initializer.text);
    }
  }
  for (const [k, v] of own) globalConsts.set(k, v);
  return own;
}

const catalogue: Readonly<Record<string, { kind: ErrorKind; docker?: string }>> = ERROR_CODES;
const sites: Site[] = [];
for (const sf of parsed) {
  const consts = constsOf(sf);
  const visit = (n: ts.Node): void => {
    let kind: ErrorKind | undefined;
    let args: readonly ts.Expression[] = [];
    if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && HELPERS[n.expression.text]) {
      kind = HELPERS[n.expression.text];
      args = n.arguments;
    } else if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'RedesError' && n.arguments?.[0] && ts.isStringLiteral(n.arguments[0])) {
      kind = n.arguments[0].text as ErrorKind;
      args = n.arguments.slice(1);
    }
    const code = args[0];
    if (kind && code && ts.isStringLiteral(code)) {
      const where = `${relative(root, sf.fileName)}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
      sites.push({ where, code: code.text, kind, message: args[1], consts });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}

/** Go's verbs as our templates write them: %q is a quoted value, the others a bare one. */
const fromGo = (format: string): string => format.replace(/%q/g, '"%s"').replace(/%[sdvw]/g, '%s');

/**
 * A throw site's message with each `${…}` as %s (`${JSON.stringify(…)}` as "%s"), a constant by its
 * value, or undefined if it is neither.
 */
function messageOf(e: ts.Expression | undefined, consts: Map<string, string>): string | undefined {
  if (!e) return undefined;
  if (ts.isStringLiteralLike(e)) return e.text;
  if (ts.isIdentifier(e)) return consts.get(e.text) ?? globalConsts.get(e.text);
  if (!ts.isTemplateExpression(e)) return undefined;
  let out = e.head.text;
  for (const span of e.templateSpans) {
    const x = span.expression;
    const quoted = ts.isCallExpression(x) && x.expression.getText() === 'JSON.stringify';
    out += (quoted ? '"%s"' : '%s') + span.literal.text;
  }
  return out;
}

test('the scan finds the throw sites (a parser change would otherwise pass everything)', () => {
  assert.ok(sites.length > 300, `only ${sites.length} sites found`);
});

test('every code thrown in src/ is catalogued with the kind it is thrown with', () => {
  const wrong = sites.filter((s) => !isErrorCode(s.code) || ERROR_CODES[s.code].kind !== s.kind);
  assert.deepEqual(
    wrong.map((s) => `${s.where}: ${s.code} thrown as ${s.kind}, catalogued as ${isErrorCode(s.code) ? ERROR_CODES[s.code].kind : 'nothing'}`),
    [],
  );
});

test('every catalogued code is thrown somewhere', () => {
  const thrown = new Set(sites.map((s) => s.code));
  assert.deepEqual(Object.keys(ERROR_CODES).filter((c) => !thrown.has(c)), []);
});

test('codes are spelled area.snake_case', () => {
  assert.deepEqual(Object.keys(ERROR_CODES).filter((c) => !/^[a-z]+\.[a-z0-9]+(_[a-z0-9]+)*$/.test(c)), []);
});

test("every throw site of a code with Docker's text writes Docker 28's text", () => {
  const bad: string[] = [];
  let checked = 0;
  for (const s of sites) {
    const entry = catalogue[s.code];
    if (entry?.docker === undefined) continue;
    const ours = messageOf(s.message, s.consts);
    if (ours === undefined) bad.push(`${s.where}: ${s.code}: message is not a literal, cannot compare with Docker's`);
    else if (ours !== fromGo(entry.docker)) bad.push(`${s.where}: ${s.code}: ${JSON.stringify(ours)} is not Docker's ${JSON.stringify(entry.docker)}`);
    checked++;
  }
  assert.deepEqual(bad, []);
  assert.ok(checked >= Object.values(catalogue).filter((e) => e.docker).length);
});

test('codes asserted in tests are catalogued', () => {
  const tests = [...tsFiles(join(root, 'src')).filter((f) => f.endsWith('.test.ts')), ...tsFiles(join(root, 'test'))];
  const unknown: string[] = [];
  for (const f of tests) {
    for (const m of readFileSync(f, 'utf8').matchAll(/\bcode: '([a-z]+[.-][a-z0-9_.-]+)'/g)) {
      if (!isErrorCode(m[1] ?? '')) unknown.push(`${relative(root, f)}: ${m[1]}`);
    }
  }
  assert.deepEqual(unknown, []);
});
