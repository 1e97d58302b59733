import { App, Button, Card, InputNumber, Popconfirm, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, query, type WebhookDoc } from '../api';
import { describeError, Loading } from '../components';
import { useLoad, useSession } from '../hooks';

interface FeedEvent { id: string; type: string; sequence: number; at: string; person: string | null; others: string[] }

function Deliveries({ webhook }: { webhook: WebhookDoc }) {
  const { t } = useTranslation();
  const after = Math.max(0, webhook.sequence - 10);
  const feed = useLoad(() => api.get<{ events: FeedEvent[] }>(`/v1/events${query({ after, limit: 30 })}`), [after, webhook.sequence]);
  return (
    <Loading state={feed}>
      {(f) => (
        <Table<FeedEvent> size="small" rowKey="id" pagination={false} dataSource={f.events.filter((e) => webhook.events.length === 0 || webhook.events.includes(e.type))}
          columns={[
            { title: '#', dataIndex: 'sequence', width: 70 },
            { title: t('webhooks.events'), dataIndex: 'type' },
            { title: t('common.person'), dataIndex: 'person' },
            { title: t('common.time'), dataIndex: 'at', render: (v: string) => v.replace('T', ' ').slice(0, 19) },
            { title: t('common.state'), render: (_, e) => e.sequence <= webhook.sequence ? <Tag color="green">{t('webhooks.delivered')}</Tag> : <Tag color="orange">{t('webhooks.pending')}</Tag> },
          ]} />
      )}
    </Loading>
  );
}

export function Webhooks() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const session = useSession();
  const hooks = useLoad(() => api.get<WebhookDoc[]>('/v1/webhooks'), []);
  const [from, setFrom] = useState<Record<number, number>>({});
  const redeliver = async (w: WebhookDoc) => {
    try {
      await api.post(`/v1/webhooks/${w.index}/redeliver`, { after: from[w.index] ?? Math.max(0, w.sequence - 1) });
      message.success(t('webhooks.redelivered'));
      hooks.reload();
    } catch (e) {
      message.error(describeError(e));
    }
  };
  return (
    <Loading state={hooks}>
      {(list) => (
        <div data-testid="webhooks">
          {list.map((w) => (
            <Card key={w.index} size="small" style={{ marginBottom: 16 }} title={<Typography.Text code>{w.url}</Typography.Text>}
              extra={session.admin && (
                <Space>
                  {t('webhooks.redeliverFrom')}
                  <InputNumber min={0} max={w.sequence} value={from[w.index] ?? Math.max(0, w.sequence - 1)} onChange={(v) => setFrom({ ...from, [w.index]: v ?? 0 })} />
                  <Popconfirm title={t('webhooks.redeliver')} onConfirm={() => redeliver(w)}>
                    <Button size="small" data-testid={`redeliver-${w.index}`}>{t('webhooks.redeliver')}</Button>
                  </Popconfirm>
                </Space>
              )}>
              <Space size="large" wrap>
                <span>{t('webhooks.events')}: {(w.events.length ? w.events : ['*']).map((e) => <Tag key={e}>{e}</Tag>)}</span>
                <span>{t('webhooks.cursor')}: <b data-testid={`webhook-cursor-${w.index}`}>{w.sequence}</b> / {w.head}</span>
                <span>{t('webhooks.lag')}: <b>{w.lag}</b></span>
                <span>{t('webhooks.attempts')}: {w.attempts}</span>
                {w.next_attempt_at && <span>{t('webhooks.nextAttempt')}: {w.next_attempt_at.replace('T', ' ').slice(0, 19)}</span>}
                {w.last_error && <span style={{ color: '#cf1322' }}>{t('webhooks.lastError')}: {w.last_error}</span>}
              </Space>
              <Typography.Title level={5} style={{ marginTop: 12 }}>{t('webhooks.deliveries')}</Typography.Title>
              <Deliveries webhook={w} />
            </Card>
          ))}
        </div>
      )}
    </Loading>
  );
}
