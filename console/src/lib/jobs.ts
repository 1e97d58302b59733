import type { JobDoc } from '../api';

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
