import type { CorpAppDoc, JobDoc } from '../api';

export const activeStates = new Set(['queued', 'running']);

export function isActive(job: JobDoc): boolean {
  return activeStates.has(job.state);
}

/** Poll while anything is still queued or running; stop once every job has finished. */
export function shouldPoll(jobs: JobDoc[]): boolean {
  return jobs.some(isActive);
}

export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** A WeCom app as the jobs page's select names it: "corpid/app", the target a job of it is stored under. */
export function corpAppKey(app: CorpAppDoc): string {
  return `${app.corpid}/${app.app}`;
}

/** The body of POST /v1/jobs that starts the existing-customer backfill of the WeCom app chosen by its key. */
export function wecomBackfillRequest(apps: CorpAppDoc[], key: string | undefined): { kind: string; corpid: string; app: string } | null {
  const chosen = apps.find((a) => corpAppKey(a) === key) ?? (key === undefined ? apps[0] : undefined);
  return chosen ? { kind: 'wecom_contacts_backfill', corpid: chosen.corpid, app: chosen.app } : null;
}

/**
 * The body of POST /v1/jobs that starts an OA account migration (changeopenid): every openid of the old account
 * `from` replaced by its openid in the new account `to`. Null until both are chosen and differ.
 */
export function oaMigrationRequest(from: string | undefined, to: string | undefined): { kind: string; appid: string; from_appid: string } | null {
  return from && to && from !== to ? { kind: 'oa_account_migration', appid: to, from_appid: from } : null;
}

/** The WeCom apps whose ids WeCom's provider id upgrade applies to: provider (third-party) apps only. */
export function upgradableApps(apps: CorpAppDoc[]): CorpAppDoc[] {
  return apps.filter((a) => a.kind === 'provider');
}

/** The body of POST /v1/jobs that starts the provider id upgrade of the chosen provider app (the first when none is chosen). */
export function wecomUpgradeRequest(apps: CorpAppDoc[], key: string | undefined): { kind: string; corpid: string; app: string } | null {
  const providers = upgradableApps(apps);
  const chosen = providers.find((a) => corpAppKey(a) === key) ?? (key === undefined ? providers[0] : undefined);
  return chosen ? { kind: 'wecom_id_upgrade', corpid: chosen.corpid, app: chosen.app } : null;
}
