import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from './dockerfile.js';
import { DockerIgnore } from './dockerignore.js';
import { planStages } from './instructions.js';

const parse = (text: string) => parseDockerfile(text).instructions;

test('parseDockerfile joins continuations, skips comments inside them, keeps the text for Step lines', () => {
  const ins = parse('# a comment\nFROM busybox\nRUN echo a \\\n# inside\n    && echo b\n\nrun ["echo", "c"]\n');
  assert.deepEqual(ins.map((i) => [i.keyword, i.line]), [['FROM', 2], ['RUN', 3], ['RUN', 7]]);
  assert.equal(ins[1]?.original, 'RUN echo a     && echo b');
  assert.equal(ins[1]?.json, undefined);
  assert.deepEqual(ins[2]?.json, ['echo', 'c']);
});

test('parseDockerfile takes flags of FROM, COPY, ADD, RUN and HEALTHCHECK only', () => {
  const [from, copy, env] = parse('FROM --platform=linux/amd64 busybox AS b\nCOPY --from=b --chown=1:2 /a /b\nENV --x=1\n');
  assert.deepEqual(from?.flags, [{ name: 'platform', value: 'linux/amd64' }]);
  assert.equal(from?.args, 'busybox AS b');
  assert.deepEqual(copy?.flags, [{ name: 'from', value: 'b' }, { name: 'chown', value: '1:2' }]);
  assert.equal(copy?.args, '/a /b');
  assert.deepEqual(env?.flags, []);
  assert.equal(env?.args, '--x=1');
});

test('parseDockerfile honours the escape directive and an escaped escape', () => {
  const ins = parse('# escape=`\nFROM busybox\nRUN echo a `\n  b\nRUN echo c\\\n');
  assert.equal(ins[1]?.original, 'RUN echo a   b');
  assert.equal(ins[2]?.original, 'RUN echo c\\');
  assert.equal(parse('FROM x\nRUN a \\\\\nRUN b\n').length, 3, 'a doubled escape does not continue');
});

test("parseDockerfile refuses unknown instructions with Docker's text and a suggestion", () => {
  assert.throws(() => parse('FROM busybox\nFORM x\n'), /: dockerfile parse error on line 2: unknown instruction: FORM \(did you mean FROM\?\)$/);
  assert.throws(() => parse('FROM busybox\nfoobar x\n'), /dockerfile parse error on line 2: unknown instruction: foobar$/);
});

test('planStages splits global ARGs and stages and checks arguments and flags', () => {
  const { metaArgs, stages } = planStages(parse('ARG V=1\nFROM busybox:$V AS One\nRUN true\nFROM one\nCOPY --from=one /a /b\n'));
  assert.equal(metaArgs.length, 1);
  assert.deepEqual(stages.map((s) => [s.name, s.base, s.instructions.length]), [['one', 'busybox:$V', 1], [undefined, 'one', 1]]);
  const bad: [string, RegExp][] = [
    ['RUN true\n', /line 1: no build stage in current context/],
    ['FROM a b\n', /line 1: FROM requires either one or three arguments/],
    ['FROM a\nCOPY x\n', /line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined/],
    ['FROM a\nRUN --mount=type=cache,target=/c true\n', /the --mount option requires BuildKit/],
    ['FROM a\nCOPY --chmod=644 a /b\n', /the --chmod option requires BuildKit/],
    ['FROM a\nCOPY --nope=1 a /b\n', /line 2: Unknown flag: nope/],
    ['FROM a\nWORKDIR\n', /line 2: WORKDIR requires exactly one argument/],
    ['FROM a\nENV\n', /line 2: ENV requires at least one argument/],
    ['FROM a\nONBUILD ONBUILD RUN x\n', /Chaining ONBUILD/],
    ['', /cannot be empty/],
  ];
  for (const [text, re] of bad) assert.throws(() => planStages(parse(text)), re, text);
});

test('.dockerignore: patterns, ** and ! exceptions, directories cover their content', () => {
  const ig = DockerIgnore.parse('# comment\n*.log\n!keep.log\nsecret/\n**/tmp\n/build\ndocs/*.md\n!docs/README.md\n');
  const cases: [string, boolean][] = [
    ['a.log', true], ['keep.log', false], ['sub/a.log', false], ['secret/x', true], ['secret', true],
    ['a/b/tmp/c', true], ['tmp', true], ['build/out', true], ['src/build', false],
    ['docs/a.md', true], ['docs/README.md', false], ['docs/sub/a.md', false], ['main.go', false],
  ];
  for (const [path, excluded] of cases) assert.equal(ig.excludes(path), excluded, path);
  assert.equal(DockerIgnore.parse('').empty, true);
});
