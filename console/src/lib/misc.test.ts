import { describe, expect, it } from 'vitest';
import { corpAppKey, formatEta, oaMigrationRequest, shouldPoll, upgradableApps, wecomBackfillRequest, wecomUpgradeRequest } from './jobs';
import { parseRoute, pathOf } from './route';
import { keysOf, zh, en } from '../messages';
import { initialLanguage } from '../i18n';
import { createApi, ApiError, query } from '../api';
import type { CorpAppDoc, JobDoc } from '../api';

const job = (state: JobDoc['state']): JobDoc => ({
  id: 'j1', kind: 'oa_followers_backfill', appid: 'wx', state, progress: { pages: 0, followers: 0, new_persons: 0, merges: 0, conflicts: 0 },
  eta_seconds: null, error: null, created_at: '', started_at: null, finished_at: null,
});

describe('jobs', () => {
  it('polls only while a job is queued or running', () => {
    expect(shouldPoll([job('succeeded'), job('running')])).toBe(true);
    expect(shouldPoll([job('queued')])).toBe(true);
    expect(shouldPoll([job('succeeded'), job('failed')])).toBe(false);
    expect(shouldPoll([])).toBe(false);
  });
  it('formats the ETA', () => {
    expect(formatEta(null)).toBe('—');
    expect(formatEta(42)).toBe('42s');
    expect(formatEta(125)).toBe('2m 5s');
    expect(formatEta(3720)).toBe('1h 2m');
    expect(formatEta(-1)).toBe('—');
  });
  it('starts the WeCom customer backfill of the chosen corp app, the first one until one is chosen', () => {
    const apps: CorpAppDoc[] = [
      { corpid: 'ww0000000000000001', app: 'crm', kind: 'self_built' },
      { corpid: 'ww0000000000000001', app: 'isv', kind: 'provider' },
    ];
    expect(corpAppKey(apps[1])).toBe('ww0000000000000001/isv');
    expect(wecomBackfillRequest(apps, undefined)).toEqual({ kind: 'wecom_contacts_backfill', corpid: 'ww0000000000000001', app: 'crm' });
    expect(wecomBackfillRequest(apps, 'ww0000000000000001/isv')).toEqual({ kind: 'wecom_contacts_backfill', corpid: 'ww0000000000000001', app: 'isv' });
    expect(wecomBackfillRequest(apps, 'ww0000000000000001/gone')).toBeNull();
    expect(wecomBackfillRequest([], undefined)).toBeNull();
  });
  it('starts an OA account migration only from one chosen account to another', () => {
    expect(oaMigrationRequest('wxold', 'wxnew')).toEqual({ kind: 'oa_account_migration', appid: 'wxnew', from_appid: 'wxold' });
    expect(oaMigrationRequest('wxold', 'wxold')).toBeNull();
    expect(oaMigrationRequest(undefined, 'wxnew')).toBeNull();
    expect(oaMigrationRequest('wxold', undefined)).toBeNull();
  });
  it('offers the provider id upgrade for provider apps only', () => {
    const apps: CorpAppDoc[] = [
      { corpid: 'ww0000000000000001', app: 'crm', kind: 'self_built' },
      { corpid: 'ww0000000000000001', app: 'isv', kind: 'provider' },
    ];
    expect(upgradableApps(apps).map(corpAppKey)).toEqual(['ww0000000000000001/isv']);
    expect(wecomUpgradeRequest(apps, undefined)).toEqual({ kind: 'wecom_id_upgrade', corpid: 'ww0000000000000001', app: 'isv' });
    expect(wecomUpgradeRequest(apps, 'ww0000000000000001/crm')).toBeNull();
    expect(wecomUpgradeRequest([apps[0]], undefined)).toBeNull();
  });
});

describe('routes', () => {
  it('reads and writes the console paths', () => {
    expect(parseRoute('/console/')).toEqual({ page: 'overview' });
    expect(parseRoute('/console')).toEqual({ page: 'overview' });
    expect(parseRoute('/console/persons/p_12')).toEqual({ page: 'person', param: 'p_12' });
    expect(parseRoute('/console/search', '?q=oAb')).toEqual({ page: 'search', query: 'oAb' });
    expect(parseRoute('/console/conflicts')).toEqual({ page: 'conflicts', query: undefined });
    expect(parseRoute('/console/nonsense')).toEqual({ page: 'overview' });
    for (const r of [{ page: 'person' as const, param: 'p_3' }, { page: 'keys' as const }, { page: 'overview' as const }]) {
      const url = new URL(pathOf(r), 'http://x');
      expect(parseRoute(url.pathname, url.search)).toMatchObject(r);
    }
  });
});

describe('messages', () => {
  it('Chinese and English say the same things', () => {
    expect(keysOf(en).sort()).toEqual(keysOf(zh).sort());
  });
  it('Chinese is the default; English only when chosen', () => {
    expect(initialLanguage(null)).toBe('zh');
    expect(initialLanguage('en')).toBe('en');
    expect(initialLanguage('fr')).toBe('zh');
  });
});

describe('api client', () => {
  it('sends the console header on writes only and turns ProblemDetails into errors', async () => {
    const seen: { url: string; init?: RequestInit }[] = [];
    const client = createApi(async (url, init) => {
      seen.push({ url, init });
      if (url === '/bad') return new Response(JSON.stringify({ title: 'Unknown person', detail: 'No person p_9.', status: 404 }), { status: 404 });
      if (url === '/empty') return new Response(null, { status: 204 });
      return new Response(JSON.stringify({ ok: 1 }), { status: 200 });
    });
    expect(await client.get('/ok')).toEqual({ ok: 1 });
    await client.post('/ok', { a: 1 });
    expect(await client.del('/empty')).toBeUndefined();
    const h = (i: number) => seen[i].init!.headers as Record<string, string>;
    expect(h(0)['X-OneId-Console']).toBeUndefined();
    expect(h(1)['X-OneId-Console']).toBe('1');
    expect(h(2)['X-OneId-Console']).toBe('1');
    expect(seen[1].init!.body).toBe('{"a":1}');
    const error = await client.get('/bad').catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 404, title: 'Unknown person', detail: 'No person p_9.' });
  });
  it('builds query strings without empty values', () => {
    expect(query({ q: 'a b', offset: 0, limit: undefined, x: '' })).toBe('?q=a%20b&offset=0');
    expect(query({})).toBe('');
  });
});
