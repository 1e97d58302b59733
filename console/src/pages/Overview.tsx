import { useMemo } from 'react';
import { Card, Col, Empty, Progress, Row, Statistic, Table, Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, type AppDoc, type ConflictPage, type GrowthDoc, type JobDoc, type Stats, type WebhookDoc } from '../api';
import { EChart, Loading } from '../components';
import { useLoad, useNav } from '../hooks';
import { coverageOption, growthOption, overlapOption } from '../lib/charts';
import { isActive } from '../lib/jobs';
import { followerTotal, rankChannels } from '../lib/relationships';

const optional = <T,>(p: Promise<T>) => p.catch(() => undefined);

export function Overview() {
  const { t } = useTranslation();
  const { go } = useNav();
  const stats = useLoad(() => api.get<Stats>('/v1/stats'), []);
  const growth = useLoad(() => api.get<GrowthDoc>('/v1/stats/growth?days=30'), []);
  const conflicts = useLoad(() => optional(api.get<ConflictPage>('/v1/conflicts?limit=1')), []);
  const webhooks = useLoad(() => optional(api.get<WebhookDoc[]>('/v1/webhooks')), []);
  const apps = useLoad(() => optional(api.get<AppDoc[]>('/v1/apps')), []);
  const jobs = useLoad(() => optional(api.get<JobDoc[] | { items: JobDoc[] }>('/v1/jobs')), []);
  const jobList = useMemo(() => (Array.isArray(jobs.data) ? jobs.data : jobs.data?.items ?? []), [jobs.data]);
  const lag = webhooks.data?.reduce((m, w) => Math.max(m, w.lag), 0);

  return (
    <Loading state={stats}>
      {(s) => {
        const followers = followerTotal(s);
        const channels = rankChannels(s.channels);
        return (
          <div data-testid="overview">
            <Row gutter={16}>
              <Col span={4}><Card><Statistic title={t('overview.persons')} value={s.persons} /></Card></Col>
              <Col span={4}><Card><Statistic title={t('overview.realFollowers')} value={followers ?? '—'} valueRender={(node) => <span data-testid="real-followers">{node}</span>} /></Card></Col>
              <Col span={4}><Card><Statistic title={t('overview.observations')} value={s.observations} /></Card></Col>
              <Col span={4}><Card><Statistic title={t('overview.identifiers')} value={s.identifiers} /></Card></Col>
              <Col span={4}>
                <Card hoverable onClick={() => go({ page: 'conflicts' })}>
                  <Statistic title={t('overview.openConflicts')} value={conflicts.data?.open ?? s.conflicts} valueStyle={{ color: (conflicts.data?.open ?? 0) > 0 ? '#cf1322' : undefined }} />
                </Card>
              </Col>
              <Col span={4}><Card hoverable onClick={() => go({ page: 'webhooks' })}><Statistic title={t('overview.webhookLag')} value={lag ?? '—'} /></Card></Col>
            </Row>
            <Row gutter={16} style={{ marginTop: 16 }}>
              <Col span={12}>
                <Card title={t('overview.coverage')}>
                  {s.unionid_coverage.length ? <EChart testId="chart-coverage" option={coverageOption(s, { persons: t('overview.persons'), withUnionId: t('overview.withUnionId') })} /> : <Empty />}
                </Card>
              </Col>
              <Col span={12}>
                <Card title={t('overview.overlap')}>{s.unionid_coverage.length ? <EChart testId="chart-overlap" option={overlapOption(s)} /> : <Empty />}</Card>
              </Col>
            </Row>
            {channels.length > 0 && (
              <Row gutter={16} style={{ marginTop: 16 }}>
                <Col span={24}>
                  <Card title={<>{t('overview.channels')} · {t('overview.wecomContacts')} <span data-testid="wecom-contacts">{s.wecom_contacts?.total ?? '—'}</span></>} size="small">
                    <Table size="small" rowKey="key" pagination={{ pageSize: 8 }} dataSource={channels} data-testid="channels"
                      columns={[
                        { title: t('overview.channelKind'), dataIndex: 'kind', render: (k: string) => <Tag color={k === 'qr_scene' ? 'blue' : 'green'}>{t(`overview.kinds.${k}`, { defaultValue: k })}</Tag> },
                        { title: t('overview.channel'), dataIndex: 'channel', render: (c: string) => <span data-testid="channel-name">{c}</span> },
                        { title: t('overview.owner'), dataIndex: 'owner' },
                        { title: t('overview.channelPersons'), dataIndex: 'persons' },
                        { title: t('overview.becameContacts'), dataIndex: 'became_contacts' },
                        { title: t('overview.contactsNow'), dataIndex: 'contacts_now' },
                      ]} />
                  </Card>
                </Col>
              </Row>
            )}
            <Row gutter={16} style={{ marginTop: 16 }}>
              <Col span={12}>
                <Card title={t('overview.growth')}>
                  <Loading state={growth}>{(g) => <EChart testId="chart-growth" option={growthOption(g, 30, new Date(), t('overview.persons'))} height={220} />}</Loading>
                </Card>
              </Col>
              <Col span={12}>
                <Card title={t('overview.tokens')} style={{ marginBottom: 16 }}>
                  <Table<AppDoc> size="small" rowKey="appid" pagination={false} dataSource={apps.data ?? []}
                    columns={[
                      { title: t('overview.app'), dataIndex: 'appid' },
                      { title: t('overview.type'), dataIndex: 'type' },
                      { title: t('common.state'), render: (_, a) => <Tag color={a.token.state === 'valid' ? 'green' : a.token.state === 'none' ? 'default' : 'orange'}>{a.token.state}</Tag> },
                      { title: t('overview.expiresAt'), render: (_, a) => a.token.expires_at?.replace('T', ' ').slice(0, 19) ?? '—' },
                    ]} />
                </Card>
                <Card title={t('overview.runningJobs')}>
                  {jobList.filter(isActive).length === 0 ? <Empty description={t('overview.noJobs')} image={Empty.PRESENTED_IMAGE_SIMPLE} /> :
                    jobList.filter(isActive).map((j) => (
                      <div key={j.id} onClick={() => go({ page: 'jobs' })} style={{ cursor: 'pointer' }}>
                        {j.appid} <Tag>{t(`jobs.states.${j.state}`)}</Tag> {j.progress.followers} {t('jobs.followers')}
                        <Progress percent={j.state === 'running' ? 50 : 0} showInfo={false} status="active" />
                      </div>
                    ))}
                </Card>
              </Col>
            </Row>
          </div>
        );
      }}
    </Loading>
  );
}
