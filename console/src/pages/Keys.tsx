import { useState } from 'react';
import { Alert, App, Button, Card, Checkbox, Form, Input, Popconfirm, Select, Table, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, type KeyDoc } from '../api';
import { describeError, Loading } from '../components';
import { useLoad, useSession } from '../hooks';

export function Keys() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const session = useSession();
  const keys = useLoad(() => api.get<KeyDoc[] | { keys: KeyDoc[] }>('/v1/keys').then((k) => (Array.isArray(k) ? k : k.keys)), []);
  const [created, setCreated] = useState<{ id: string; key: string }>();

  const create = async (v: { name: string; tiers: string[]; permission: string }) => {
    try {
      const r = await api.post<{ id: string; key: string }>('/v1/keys', { name: v.name, tiers: v.tiers, admin: v.permission === 'admin', permissions: [v.permission] });
      setCreated({ id: r.id, key: r.key });
      keys.reload();
    } catch (e) {
      message.error(describeError(e));
    }
  };
  const revoke = async (k: KeyDoc) => {
    try {
      await api.del(`/v1/keys/${encodeURIComponent(k.id)}`);
      message.success(t('keys.revoked'));
      // A key just shown and now revoked must not stay on screen as if it could still be used.
      if (created?.id === k.id) setCreated(undefined);
      keys.reload();
    } catch (e) {
      message.error(describeError(e));
    }
  };

  return (
    <div data-testid="keys">
      <Card size="small" title={t('keys.create')} style={{ marginBottom: 16 }}>
        <Form layout="inline" onFinish={create} initialValues={{ tiers: ['internal'], permission: 'read' }}>
          <Form.Item name="name" label={t('keys.name')} rules={[{ required: true }]}><Input data-testid="key-name" /></Form.Item>
          <Form.Item name="tiers" label={t('keys.tiers')}>
            <Checkbox.Group options={session.tiers.filter((x) => x !== 'public').map((x) => ({ label: x, value: x }))} />
          </Form.Item>
          <Form.Item name="permission" label={t('keys.permissions')}>
            <Select style={{ width: 120 }} options={['read', 'write', 'admin'].map((p) => ({ value: p, label: p }))} />
          </Form.Item>
          <Button type="primary" htmlType="submit" data-testid="create-key">{t('keys.create')}</Button>
        </Form>
        {created && <Alert style={{ marginTop: 12 }} type="success" showIcon message={t('keys.newKey')} description={<Typography.Text code copyable data-testid="new-key">{created.key}</Typography.Text>} />}
      </Card>
      <Loading state={keys}>
        {(list) => (
          <Table<KeyDoc> rowKey="id" dataSource={list} size="middle" pagination={{ pageSize: 20 }}
            columns={[
              { title: t('keys.id'), dataIndex: 'id' },
              { title: t('keys.name'), dataIndex: 'name', render: (n: string, k) => <span data-testid={`key-row-${k.name ?? k.id}`}>{n ?? '—'}</span> },
              { title: t('keys.tiers'), render: (_, k) => k.tiers.map((x) => <Tag key={x}>{x}</Tag>) },
              { title: t('keys.permissions'), render: (_, k) => (k.permissions ?? (k.admin ? ['admin'] : ['read'])).map((p) => <Tag key={p} color={p === 'admin' ? 'red' : p === 'write' ? 'orange' : undefined}>{p}</Tag>) },
              { title: t('keys.created'), dataIndex: 'created_at', render: (v?: string) => v?.replace('T', ' ').slice(0, 19) ?? '—' },
              { title: t('keys.lastUsed'), dataIndex: 'last_used_at', render: (v?: string | null) => v?.replace('T', ' ').slice(0, 19) ?? '—' },
              {
                title: t('common.actions'),
                render: (_, k) => k.id !== session.key_id && !k.revoked && (
                  <Popconfirm title={t('keys.revokeConfirm')} onConfirm={() => revoke(k)}>
                    <Button size="small" danger data-testid={`revoke-${k.name ?? k.id}`}>{t('keys.revoke')}</Button>
                  </Popconfirm>
                ),
              },
            ]} />
        )}
      </Loading>
    </div>
  );
}
