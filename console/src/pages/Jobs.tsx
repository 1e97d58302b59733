import { useCallback, useMemo, useState } from 'react';
import { App, Button, Card, Progress, Select, Space, Table, Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, type AppDoc, type CorpAppDoc, type JobDoc } from '../api';
import { describeError, Loading } from '../components';
import { useInterval, useLoad, useSession } from '../hooks';
import { corpAppKey, formatEta, oaMigrationRequest, shouldPoll, upgradableApps, wecomBackfillRequest, wecomUpgradeRequest } from '../lib/jobs';

export function Jobs() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const session = useSession();
  const jobs = useLoad(() => api.get<JobDoc[] | { items: JobDoc[] }>('/v1/jobs').then((j) => (Array.isArray(j) ? j : j.items)), []);
  const apps = useLoad(() => api.get<AppDoc[]>('/v1/apps').catch(() => [] as AppDoc[]), []);
  const oas = useMemo(() => (apps.data ?? []).filter((a) => a.type === 'official_account'), [apps.data]);
  const [appid, setAppid] = useState<string>();
  const corpApps = useLoad(() => api.get<CorpAppDoc[]>('/v1/corp-apps').catch(() => [] as CorpAppDoc[]), []);
  const [corpApp, setCorpApp] = useState<string>();
  const wecomRequest = wecomBackfillRequest(corpApps.data ?? [], corpApp);
  const [fromOa, setFromOa] = useState<string>();
  const [toOa, setToOa] = useState<string>();
  const migrationRequest = oaMigrationRequest(fromOa, toOa);
  const providerApps = upgradableApps(corpApps.data ?? []);
  const [upgradeApp, setUpgradeApp] = useState<string>();
  const upgradeRequest = wecomUpgradeRequest(corpApps.data ?? [], upgradeApp);
  const reload = jobs.reload;
  // Live progress: poll once a second while a job is queued or running.
  useInterval(useCallback(() => reload(), [reload]), jobs.data && shouldPoll(jobs.data) ? 1000 : null);

  const start = (body: object) => async () => {
    try {
      await api.post('/v1/jobs', body);
      message.success(t('jobs.started'));
      reload();
    } catch (e) {
      message.error(describeError(e));
    }
  };

  return (
    <div data-testid="jobs">
      {session.admin && (
        <Card size="small" style={{ marginBottom: 16 }} title={t('jobs.backfill')}>
          <Space>
            <Select style={{ width: 260 }} placeholder={t('jobs.appid')} value={appid ?? oas[0]?.appid} onChange={setAppid}
              options={oas.map((a) => ({ value: a.appid, label: a.appid }))} data-testid="job-appid" />
            <Button type="primary" onClick={start({ kind: 'oa_followers_backfill', appid: appid ?? oas[0]?.appid })} disabled={!(appid ?? oas[0]?.appid)} data-testid="start-backfill">{t('jobs.start')}</Button>
          </Space>
        </Card>
      )}
      {session.admin && (corpApps.data?.length ?? 0) > 0 && (
        <Card size="small" style={{ marginBottom: 16 }} title={t('jobs.wecomBackfill')}>
          <Space>
            <Select style={{ width: 320 }} placeholder={t('jobs.corpApp')} value={wecomRequest ? `${wecomRequest.corpid}/${wecomRequest.app}` : undefined} onChange={setCorpApp}
              options={(corpApps.data ?? []).map((a) => ({ value: corpAppKey(a), label: `${corpAppKey(a)} (${a.kind})` }))} data-testid="job-corp-app" />
            <Button type="primary" onClick={wecomRequest ? start(wecomRequest) : undefined} disabled={!wecomRequest} data-testid="start-wecom-backfill">{t('jobs.start')}</Button>
          </Space>
        </Card>
      )}
      {session.admin && oas.length > 1 && (
        <Card size="small" style={{ marginBottom: 16 }} title={t('jobs.oaMigration')}>
          <Space>
            <Select style={{ width: 260 }} placeholder={t('jobs.fromOa')} value={fromOa} onChange={setFromOa}
              options={oas.map((a) => ({ value: a.appid, label: a.appid }))} data-testid="job-from-oa" />
            <Select style={{ width: 260 }} placeholder={t('jobs.toOa')} value={toOa} onChange={setToOa}
              options={oas.filter((a) => a.appid !== fromOa).map((a) => ({ value: a.appid, label: a.appid }))} data-testid="job-to-oa" />
            <Button type="primary" onClick={migrationRequest ? start(migrationRequest) : undefined} disabled={!migrationRequest} data-testid="start-oa-migration">{t('jobs.startMigration')}</Button>
          </Space>
        </Card>
      )}
      {session.admin && providerApps.length > 0 && (
        <Card size="small" style={{ marginBottom: 16 }} title={t('jobs.wecomUpgrade')}>
          <Space>
            <Select style={{ width: 320 }} placeholder={t('jobs.corpApp')} value={upgradeRequest ? `${upgradeRequest.corpid}/${upgradeRequest.app}` : undefined} onChange={setUpgradeApp}
              options={providerApps.map((a) => ({ value: corpAppKey(a), label: corpAppKey(a) }))} data-testid="job-upgrade-app" />
            <Button type="primary" onClick={upgradeRequest ? start(upgradeRequest) : undefined} disabled={!upgradeRequest} data-testid="start-wecom-upgrade">{t('jobs.startUpgrade')}</Button>
          </Space>
        </Card>
      )}
      <Loading state={jobs}>
        {(list) => (
          <Table<JobDoc> rowKey="id" dataSource={list} size="middle" pagination={{ pageSize: 20 }}
            columns={[
              { title: 'ID', dataIndex: 'id' },
              // The column lists every kind of job: a WeCom backfill's row names a WeCom app, not an Official Account.
              { title: t('jobs.app'), dataIndex: 'appid' },
              { title: t('jobs.kind'), dataIndex: 'kind', render: (k: string) => <span data-testid="job-kind">{t(`jobs.kinds.${k}`, { defaultValue: k })}</span> },
              { title: t('common.state'), dataIndex: 'state', render: (s: JobDoc['state']) => <Tag data-testid="job-state" color={s === 'succeeded' ? 'green' : s === 'failed' ? 'red' : 'blue'}>{t(`jobs.states.${s}`)}</Tag> },
              { title: t('jobs.progress'), render: (_, j) => (
                <div data-testid="job-progress">
                  <Progress percent={j.state === 'succeeded' ? 100 : j.eta_seconds ? 60 : j.state === 'running' ? 30 : 0} size="small" status={j.state === 'failed' ? 'exception' : j.state === 'running' ? 'active' : undefined} />
                  {j.progress.pages} {t('jobs.pages')} · {j.kind === 'wecom_contacts_backfill'
                    ? <><span data-testid="job-members">{j.progress.members ?? 0}</span> {t('jobs.members')} · <span data-testid="job-contacts">{j.progress.contacts ?? 0}</span> {t('jobs.contacts')}</>
                    : <><span data-testid="job-followers">{j.progress.followers}</span> {t('jobs.followers')}</>} · {j.progress.new_persons} {t('jobs.newPersons')} · {j.progress.merges} {t('jobs.merges')} · {j.progress.conflicts} {t('jobs.conflicts')}
                </div>
              ) },
              { title: t('jobs.eta'), render: (_, j) => formatEta(j.eta_seconds) },
              { title: t('jobs.created'), dataIndex: 'created_at', render: (v: string) => v?.replace('T', ' ').slice(0, 19) },
              { title: t('jobs.error'), dataIndex: 'error' },
            ]} />
        )}
      </Loading>
    </div>
  );
}
