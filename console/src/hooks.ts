import { createContext, useCallback, useContext, useEffect, useState } from 'react';
import type { Route } from './lib/route';
import type { Session } from './api';
import { ApiError } from './api';

export interface Nav { route: Route; go: (route: Route) => void }
export const NavContext = createContext<Nav>({ route: { page: 'overview' }, go: () => {} });
export const useNav = () => useContext(NavContext);

export const SessionContext = createContext<Session | null>(null);
export const useSession = () => useContext(SessionContext)!;

export interface Loaded<T> { data?: T; error?: ApiError | Error; loading: boolean; reload: () => void }

/** Loads once per dependency change; 'reload' loads again (after an action). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError | Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let alive = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => alive && setState({ data, loading: false }),
      (error) => alive && setState({ error, loading: false }),
    );
    return () => {
      alive = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export function useInterval(callback: () => void, ms: number | null) {
  useEffect(() => {
    if (ms === null) return;
    const id = setInterval(callback, ms);
    return () => clearInterval(id);
  }, [callback, ms]);
}
