import type { DataFrameJSON } from '../../../backend/src/query/frames';
import { alertingView } from '../../../backend/src/testing/alerting-shape';
import { decodeArrowFrame, toFrameJSON } from './arrow-to-json';
import type { PluginHost } from './plugin-host';

/**
 * Evaluates a provisioned Grafana alert rule the way Grafana's rule engine does, far enough for
 * the rules this project ships: each query of the rule goes to the plugin's QueryData (one call,
 * the relative time range turned into an absolute one at the evaluation time, Grafana's alert
 * query defaults for points and interval), each answer is read the way alerting reads it
 * (testing/alerting-shape.ts: it must be acceptable), then the condition's server-side expression:
 * `threshold` (gt, lt on one query) or `math` of the form `$A > 6 && $B > 2` (numbers joined by
 * identical label sets, as SSE joins them). Returns the label sets that fire.
 */
export interface RuleQuery {
  refId: string;
  datasourceUid: string;
  relativeTimeRange?: { from: number; to: number };
  model: Record<string, unknown>;
}

export interface Rule {
  uid: string;
  title: string;
  condition: string;
  data: RuleQuery[];
  noDataState: string;
}

type Numbers = Map<string, number | null>;

function evalMath(expression: string, inputs: Record<string, Numbers>): Numbers {
  const clauses = expression.split('&&').map((c) => {
    const m = /^\s*\$([A-Z])\s*(>=|<=|>|<)\s*(-?[\d.e+]+)\s*$/.exec(c);
    if (!m) throw new Error(`math expression the evaluator does not know: ${c}`);
    return { ref: m[1], op: m[2], value: Number(m[3]) };
  });
  const out: Numbers = new Map();
  const labelSets = new Set(clauses.flatMap((c) => [...(inputs[c.ref]?.keys() ?? [])]));
  for (const labels of labelSets) {
    let ok = true;
    for (const c of clauses) {
      const v = inputs[c.ref]?.get(labels);
      if (v === undefined) {
        ok = false; // no number with these labels in one operand: SSE drops the union
        break;
      }
      if (v === null) ok = false;
      else if (!({ '>': v > c.value, '<': v < c.value, '>=': v >= c.value, '<=': v <= c.value } as Record<string, boolean>)[c.op]) ok = false;
    }
    if ([...clauses].every((c) => inputs[c.ref]?.has(labels))) out.set(labels, ok ? 1 : 0);
  }
  return out;
}

export async function evaluateRule(host: PluginHost, pluginContext: Record<string, unknown>, rule: Rule, nowMs: number): Promise<{ firing: string[]; problems: string[] }> {
  const queries = rule.data.filter((d) => d.datasourceUid !== '__expr__');
  const r = await host.unary<{ responses: Record<string, { frames: Buffer[]; error: string }> }>('data', 'QueryData', {
    pluginContext,
    headers: {},
    format: 'ARROW',
    queries: queries.map((q) => ({
      refId: q.refId,
      maxDataPoints: 43200,
      intervalMS: 1000,
      timeRange: { fromEpochMS: nowMs - (q.relativeTimeRange?.from ?? 600) * 1000, toEpochMS: nowMs - (q.relativeTimeRange?.to ?? 0) * 1000 },
      json: Buffer.from(JSON.stringify(q.model)),
    })),
  });
  const problems: string[] = [];
  const inputs: Record<string, Numbers> = {};
  for (const q of queries) {
    const res = r.responses[q.refId];
    if (res.error) throw new Error(`rule ${rule.uid} query ${q.refId}: ${res.error}`);
    const view = alertingView(res.frames.map((b) => toFrameJSON(decodeArrowFrame(b)) as unknown as DataFrameJSON));
    problems.push(...view.problems.map((p) => `${q.refId}: ${p}`));
    if (view.kind === 'series') problems.push(`${q.refId}: a time series needs a reduce step before a threshold`);
    inputs[q.refId] = new Map(view.items.map((i) => [i.labels, i.value]));
  }
  const condition = rule.data.find((d) => d.refId === rule.condition);
  if (!condition || condition.datasourceUid !== '__expr__') throw new Error(`rule ${rule.uid}: condition ${rule.condition} is not an expression`);
  const m = condition.model as { type: string; expression: string; conditions?: { evaluator: { type: string; params: number[] } }[] };
  let result: Numbers;
  if (m.type === 'math') result = evalMath(m.expression, inputs);
  else if (m.type === 'threshold') {
    const ev = m.conditions?.[0]?.evaluator;
    if (!ev || (ev.type !== 'gt' && ev.type !== 'lt')) throw new Error(`rule ${rule.uid}: threshold evaluator ${JSON.stringify(ev)}`);
    result = new Map([...(inputs[m.expression] ?? new Map()).entries()].map(([l, v]) => [l, v !== null && (ev.type === 'gt' ? v > ev.params[0] : v < ev.params[0]) ? 1 : 0]));
  } else throw new Error(`rule ${rule.uid}: expression type ${m.type} is not evaluated here`);
  return { firing: [...result.entries()].filter(([, v]) => v === 1).map(([l]) => l).sort(), problems };
}
