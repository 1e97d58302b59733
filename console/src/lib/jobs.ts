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
