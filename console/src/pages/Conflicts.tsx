import { useState } from 'react';
import { App, Button, Popconfirm, Space, Table, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, query, type ConflictDoc, type ConflictPage } from '../api';
import { describeError, Loading } from '../components';
import { useLoad, useNav, useSession } from '../hooks';

export function Conflicts() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const { go } = useNav();
  const session = useSession();
  const [page, setPage] = useState(1);
  const pageSize = 20;
  const state = useLoad(() => api.get<ConflictPage>(`/v1/conflicts${query({ offset: (page - 1) * pageSize, limit: pageSize })}`), [page]);

  const resolve = async (c: ConflictDoc, action: 'dismiss' | 'apply') => {
    try {
      await api.post(`/v1/conflicts/${c.id}/resolve`, { action });
      message.success(t('conflicts.done'));
      state.reload();
    } catch (e) {
      message.error(describeError(e));
    }
  };

  return (
    <Loading state={state}>
      {(p) => (
        <div data-testid="conflicts">
          <Typography.Paragraph data-testid="conflicts-summary">{t('conflicts.summary', { open: p.open, total: p.total })}</Typography.Paragraph>
          <Table<ConflictDoc> rowKey="id" dataSource={p.items} size="middle"
            pagination={{ current: page, pageSize, total: p.total, onChange: setPage }}
            columns={[
              { title: '#', dataIndex: 'id', width: 60 },
              { title: t('common.state'), dataIndex: 'state', render: (s: string) => <Tag color={s === 'open' ? 'red' : s === 'applied' ? 'green' : 'default'} data-testid="conflict-state">{t(`conflicts.${s}`)}</Tag> },
              { title: t('common.observation'), render: (_, c) => (<>
                <div>{c.observation.source} · {c.observation.at.replace('T', ' ').slice(0, 19)}</div>
                {c.observation.ids.map((i) => <div key={i} style={{ fontSize: 11 }}><code>{i}</code></div>)}
              </>) },
              { title: t('conflicts.disputes'), render: (_, c) => c.disputes.map((d, i) => <div key={i}>{d.text}</div>) },
              { title: t('conflicts.persons'), render: (_, c) => c.persons.map((p) => <div key={p}><Typography.Link onClick={() => go({ page: 'person', param: p })}>{p}</Typography.Link></div>) },
              { title: t('conflicts.inTheWay'), render: (_, c) => c.standing_in_the_way.map((o) => <Tag key={o}>#{o}</Tag>) },
              {
                title: t('common.actions'),
                render: (_, c) => c.state === 'open' && session.admin && (
                  <Space direction="vertical">
                    <Popconfirm title={t('conflicts.dismissConfirm')} onConfirm={() => resolve(c, 'dismiss')}>
                      <Button size="small" data-testid={`dismiss-${c.id}`}>{t('conflicts.dismiss')}</Button>
                    </Popconfirm>
                    <Popconfirm title={t('conflicts.applyConfirm')} onConfirm={() => resolve(c, 'apply')}>
                      <Button size="small" type="primary" danger data-testid={`apply-${c.id}`}>{t('conflicts.apply')}</Button>
                    </Popconfirm>
                  </Space>
                ),
              },
            ]} />
        </div>
      )}
    </Loading>
  );
}
