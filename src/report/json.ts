import { verdictHolds, type Verdict } from '../model/verdict.js';

export function renderJson(v: Verdict): string {
  return JSON.stringify({ ok: verdictHolds(v), ...v }, null, 2) + '\n';
}
