import { emptyFrame, field, frame } from '../query/frames';
import { alertingView } from './alerting-shape';

/** The checker of what alerting accepts, on frames that break each rule (it must catch them). */
const label = (name: string) => ({ ...field(name, 'string'), typeInfo: { frame: 'string' } });

describe('alertingView', () => {
  it('accepts one number per label set, and no data', () => {
    const ok = frame('A', { type: 'numeric-long' }, [label('app'), field('score', 'number')], [['dns', 'tls'], [1, 2]]);
    expect(alertingView([ok])).toEqual({ problems: [], kind: 'numbers', items: [{ labels: 'app=dns', value: 1 }, { labels: 'app=tls', value: 2 }] });
    expect(alertingView([emptyFrame('A', 'numeric-long')])).toEqual({ problems: [], kind: 'nodata', items: [] });
  });

  it('catches two numbers per label set, duplicate rows, null labels and tables', () => {
    const two = frame('A', { type: 'numeric-long' }, [label('app'), field('score', 'number'), field('ratio', 'number')], [['dns'], [1], [2]]);
    expect(alertingView([two]).problems).toEqual(['numeric-long frame with 2 number fields: every row gives 2 numbers with the same labels', 'duplicate results with labels {app=dns}: each number needs a label set of its own']);
    const dup = frame('A', { type: 'numeric-long' }, [label('app'), field('v', 'number')], [['dns', 'dns'], [1, 2]]);
    expect(alertingView([dup]).problems).toEqual(['duplicate results with labels {app=dns}: each number needs a label set of its own']);
    const nul = frame('A', { type: 'numeric-long' }, [label('app'), field('v', 'number')], [[null], [1]]);
    expect(alertingView([nul]).problems).toEqual(['label column "app" row 0 is null, not a string']);
    const table = frame('A', { type: 'table' }, [label('app'), field('v', 'number')], [['dns'], [1]]);
    expect(alertingView([table]).problems).toEqual(['meta.type "table" is not read by alerting (numeric and time series kinds only)']);
  });

  it('checks time series: ascending times, one value per multi frame, unique labels', () => {
    const s = (labels: Record<string, string>, t: number[]) => frame('A', { type: 'timeseries-multi' }, [field('time', 'time'), field('bytes', 'number', {}, labels)], [t, t.map(() => 1)]);
    expect(alertingView([s({ app: 'dns' }, [1, 2]), s({ app: 'tls' }, [1, 2])])).toMatchObject({ problems: [], kind: 'series' });
    expect(alertingView([s({ app: 'dns' }, [2, 1])]).problems).toEqual(['times not strictly ascending at row 1']);
    expect(alertingView([s({ app: 'dns' }, [1, 2]), s({ app: 'dns' }, [1, 2])]).problems).toEqual(['duplicate results with labels {app=dns}: each number needs a label set of its own']);
  });
});
