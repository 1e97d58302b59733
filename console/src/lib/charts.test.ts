import { describe, expect, it } from 'vitest';
import { coverageOption, growthSeries, overlapMatrix } from './charts';
import type { Stats } from '../api';

const stats: Stats = {
  persons: 10, observations: 20, identifiers: 30, conflicts: 1, identifiers_by_type: {},
  unionid_coverage: [
    { appid: 'wxa', persons: 8, with_unionid: 6 },
    { appid: 'wxb', persons: 5, with_unionid: 5 },
  ],
  overlap: [{ apps: ['wxa', 'wxb'], persons: 3 }],
};

describe('charts', () => {
  it('coverage has one bar pair per app', () => {
    const o = coverageOption(stats, { persons: 'P', withUnionId: 'U' });
    expect(o.xAxis.data).toEqual(['wxa', 'wxb']);
    expect(o.series[0].data).toEqual([8, 5]);
    expect(o.series[1].data).toEqual([6, 5]);
  });

  it('overlap is a symmetric matrix with each app on the diagonal', () => {
    const { apps, cells } = overlapMatrix(stats);
    expect(apps).toEqual(['wxa', 'wxb']);
    expect(cells).toContainEqual([0, 0, 8]);
    expect(cells).toContainEqual([1, 1, 5]);
    expect(cells).toContainEqual([0, 1, 3]);
    expect(cells).toContainEqual([1, 0, 3]);
  });

  it('growth fills days without new persons with zero, oldest first', () => {
    const s = growthSeries({ days: [{ day: '2024-05-10', persons: 4 }, { day: '2024-05-08', persons: 2 }] }, 4, new Date('2024-05-10T15:00:00Z'));
    expect(s.labels).toEqual(['05-07', '05-08', '05-09', '05-10']);
    expect(s.values).toEqual([0, 2, 0, 4]);
  });
});
