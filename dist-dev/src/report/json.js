import { verdictHolds } from '../model/verdict.js';
export function renderJson(v) {
    return JSON.stringify({ ok: verdictHolds(v), ...v }, null, 2) + '\n';
}
//# sourceMappingURL=json.js.map