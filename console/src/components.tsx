import { useEffect, useRef } from 'react';
import { Alert, Spin } from 'antd';
import { useTranslation } from 'react-i18next';
import * as echarts from 'echarts/core';
import { BarChart, HeatmapChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { ApiError } from './api';
import type { Loaded } from './hooks';

echarts.use([BarChart, HeatmapChart, GridComponent, LegendComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);

export function EChart({ option, height = 280, testId }: { option: echarts.EChartsCoreOption; height?: number; testId?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const chart = echarts.init(ref.current);
    chart.setOption(option);
    const resize = () => chart.resize();
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      chart.dispose();
    };
  }, [option]);
  return <div ref={ref} style={{ height, width: '100%' }} data-testid={testId} />;
}

/** Spinner while loading, the hub's ProblemDetails when it failed, else the content. */
export function Loading<T>({ state, children }: { state: Loaded<T>; children: (data: T) => React.ReactNode }) {
  const { t } = useTranslation();
  if (state.error) {
    const e = state.error;
    if (e instanceof ApiError && (e.status === 404 || e.status === 405) && !e.detail) {
      return <Alert type="info" showIcon message={t('common.unavailable')} />;
    }
    if (e instanceof ApiError && e.status === 403) {
      return <Alert type="warning" showIcon message={t('common.hidden')} description={e.detail} />;
    }
    return <Alert type="error" showIcon message={e instanceof ApiError ? e.title : t('common.error')} description={e instanceof ApiError ? e.detail : e.message} />;
  }
  if (state.data === undefined) return <Spin tip={t('common.loading')} />;
  return <>{children(state.data)}</>;
}

export function describeError(e: unknown): string {
  return e instanceof ApiError ? (e.detail ? `${e.title}: ${e.detail}` : e.title) : String(e);
}
