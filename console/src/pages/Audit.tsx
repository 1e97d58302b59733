import { Table, Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, type AuditEntry } from '../api';
import { Loading } from '../components';
import { useLoad } from '../hooks';

export function Audit() {
  const { t } = useTranslation();
  const audit = useLoad(() => api.get<{ entries: AuditEntry[] }>('/v1/audit?limit=200'), []);
  return (
    <Loading state={audit}>
      {(a) => (
        <div data-testid="audit">
          <Table<AuditEntry> rowKey="sequence" dataSource={a.entries} size="small" pagination={{ pageSize: 25 }}
            columns={[
              { title: '#', dataIndex: 'sequence', width: 60 },
              { title: t('common.time'), dataIndex: 'at', render: (v: string) => v.replace('T', ' ').slice(0, 19) },
              { title: t('audit.key'), dataIndex: 'key_id', render: (v: string) => <code>{v}</code> },
              { title: t('audit.action'), dataIndex: 'action', render: (v: string) => <span data-testid="audit-action">{v}</span> },
              { title: t('audit.target'), dataIndex: 'target' },
              { title: t('audit.status'), dataIndex: 'status', render: (s: number) => <Tag color={s < 300 ? 'green' : s < 500 ? 'orange' : 'red'}>{s}</Tag> },
              { title: t('audit.detail'), dataIndex: 'detail' },
            ]} />
        </div>
      )}
    </Loading>
  );
}
