/**
 * Fixtures for the audit's unit tests: the scenario's facts and live ruleset as captured from a real
 * daemon (src/audit/testdata/scenario-*.json; the scenario is described in test/unit/audit/matrix.test.ts).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AuditFacts } from '../../src/audit/facts.js';
import { parseRuleset, type Ruleset } from '../../src/audit/nft/ruleset.js';

const dir = fileURLToPath(new URL('../../../src/audit/testdata/', import.meta.url));

export function scenarioFacts(): AuditFacts {
  return JSON.parse(readFileSync(`${dir}scenario-facts.json`, 'utf8')) as AuditFacts;
}

export function scenarioRulesetJson(): unknown {
  return JSON.parse(readFileSync(`${dir}scenario-ruleset.json`, 'utf8'));
}

export function scenarioRuleset(): Ruleset {
  return parseRuleset(scenarioRulesetJson());
}
