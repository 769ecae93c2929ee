/**
 * One audit as a document (schema `redes.audit/v1`, described in README.md beside this file): the
 * facts, the reachability matrix, the exposure report, and, with --verify, the probes' verdict.
 *
 * Use: `buildReport(facts, rulesetJson)`; the daemon serves it as GET /redes/audit.
 */
import { computeExposure, type Exposure } from './exposure.js';
import type { AuditFacts } from './facts.js';
import { computeMatrix, type Matrix } from './matrix.js';
import { parseRuleset } from './nft/ruleset.js';
import type { VerifyResult } from './verify.js';

export const AUDIT_SCHEMA = 'redes.audit/v1';

export interface AuditReport {
  schema: typeof AUDIT_SCHEMA;
  generated: string;
  facts: AuditFacts;
  matrix: Matrix;
  exposure: Exposure;
  verify?: VerifyResult;
}

export function buildReport(facts: AuditFacts, rulesetJson: unknown, now = new Date()): AuditReport {
  const rs = parseRuleset(rulesetJson);
  const matrix = computeMatrix(facts, rs);
  return { schema: AUDIT_SCHEMA, generated: now.toISOString(), facts, matrix, exposure: computeExposure(facts, rs, matrix) };
}
