import { useEffect, useMemo, useRef, useState } from 'react';
import { App, Button, Card, Col, Descriptions, Empty, Input, Popconfirm, Row, Space, Table, Tag, Timeline, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import cytoscape from 'cytoscape';
import { api, ApiError, type EventDoc, type ObservationDoc, type PersonDoc } from '../api';
import { describeError, Loading } from '../components';
import { useLoad, useNav, useSession } from '../hooks';
import { buildPersonGraph, identifiersByType } from '../lib/graph';
import { colorOf } from '../lib/ids';

function Graph({ person, observations }: { person: PersonDoc; observations: ObservationDoc[] }) {
  const ref = useRef<HTMLDivElement>(null);
  const graph = useMemo(() => buildPersonGraph(person, observations), [person, observations]);
  useEffect(() => {
    if (!ref.current) return;
    const cy = cytoscape({
      container: ref.current,
      elements: [...graph.nodes, ...graph.edges],
      style: [
        { selector: 'node', style: { 'background-color': 'data(color)', label: 'data(label)', 'font-size': 10, color: '#333', 'text-valign': 'bottom', 'text-margin-y': 4 } },
        { selector: 'node[type = "group"]', style: { 'background-color': '#fafafa', 'border-color': '#d9d9d9', 'border-width': 1, label: 'data(label)', 'text-valign': 'top', 'font-size': 11, color: '#888' } },
        { selector: 'edge', style: { width: 1.5, 'line-color': '#bfbfbf', label: 'data(label)', 'font-size': 8, color: '#999', 'curve-style': 'bezier', 'text-rotation': 'autorotate' } },
      ],
      layout: { name: graph.nodes.length > 40 ? 'grid' : 'cose', animate: false, padding: 20 } as cytoscape.LayoutOptions,
    });
    return () => cy.destroy();
  }, [graph]);
  return <div ref={ref} style={{ height: 420, border: '1px solid #f0f0f0', borderRadius: 8 }} data-testid="person-graph" data-nodes={graph.nodes.length} data-edges={graph.edges.length} />;
}

interface PersonData { person: PersonDoc; observations: ObservationDoc[]; history: EventDoc[]; keptApart: string[] }

export default function Person({ id }: { id: string }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const { go } = useNav();
  const session = useSession();
  const [other, setOther] = useState('');
  const state = useLoad<PersonData>(async () => {
    const person = await api.get<PersonDoc>(`/v1/persons/${encodeURIComponent(id)}`);
    // An alias answers with the person it names now: read the rest by that id.
    const [observations, history, kept] = await Promise.all([
      api.get<ObservationDoc[]>(`/v1/persons/${person.id}/observations`),
      api.get<EventDoc[]>(`/v1/persons/${person.id}/history`),
      api.get<{ kept_apart_from: string[] }>(`/v1/persons/${person.id}/keep-apart`).catch(() => ({ kept_apart_from: [] })),
    ]);
    return { person, observations, history, keptApart: kept.kept_apart_from };
  }, [id]);

  const act = async (work: () => Promise<unknown>, done: string) => {
    try {
      await work();
      message.success(done);
      state.reload();
    } catch (e) {
      message.error(describeError(e));
    }
  };

  if (state.error instanceof ApiError && state.error.status === 404) return <Empty description={t('person.notFound')} />;
  return (
    <Loading state={state}>
      {({ person, observations, history, keptApart }) => (
        <div data-testid="person">
          <Row gutter={16}>
            <Col span={16}>
              <Card title={<>{t('person.graph')} · <span data-testid="person-id">{person.id}</span></>}>
                <Graph person={person} observations={observations} />
              </Card>
            </Col>
            <Col span={8}>
              <Card title={t('person.identifiers')} size="small">
                {identifiersByType(person.identifiers).map(([type, ids]) => (
                  <div key={type} style={{ marginBottom: 8 }}>
                    <Tag color={colorOf(type)}>{type}</Tag> {ids.length}
                    {ids.slice(0, 8).map((i) => (
                      <div key={i}>
                        <Typography.Text code copyable delete={!!person.replaced_by?.[i]} style={{ fontSize: 11 }}>{i}</Typography.Text>
                        {person.replaced_by?.[i] && <div data-testid="replaced-identifier" style={{ fontSize: 11, color: '#888' }}>{t('person.replacedBy')} {person.replaced_by[i]}</div>}
                      </div>
                    ))}
                    {ids.length > 8 && <div>… +{ids.length - 8}</div>}
                  </div>
                ))}
                {person.aliases.length > 0 && <div>{t('person.aliases')}: {person.aliases.map((a) => <Tag key={a}>{a}</Tag>)}</div>}
              </Card>
              <Card title={t('person.profile')} size="small" style={{ marginTop: 16 }}>
                {person.profile && Object.keys(person.profile).length > 0 ? (
                  <Descriptions size="small" column={1} items={Object.entries(person.profile).map(([k, v]) => ({ key: k, label: k, children: v }))} />
                ) : <Typography.Text type="secondary">{t('person.noProfile')}</Typography.Text>}
                {session.admin && (
                  <Popconfirm title={t('person.eraseConfirm')} onConfirm={() => act(() => api.del(`/v1/persons/${person.id}/profile`), t('person.erase'))}>
                    <Button danger size="small" style={{ marginTop: 8 }} data-testid="erase-profile">{t('person.erase')}</Button>
                  </Popconfirm>
                )}
              </Card>
              <Card title={t('person.keptApart')} size="small" style={{ marginTop: 16 }}>
                {keptApart.length === 0 && <Typography.Text type="secondary">{t('common.none')}</Typography.Text>}
                {keptApart.map((p) => (
                  <div key={p} data-testid={`kept-apart-${p}`}>
                    <Typography.Link onClick={() => go({ page: 'person', param: p })}>{p}</Typography.Link>{' '}
                    {session.admin && <Button size="small" type="link" onClick={() => act(() => api.del(`/v1/persons/${person.id}/keep-apart?other=${encodeURIComponent(p)}`), t('person.lift'))}>{t('person.lift')}</Button>}
                  </div>
                ))}
                {session.admin && (
                  <Space.Compact style={{ marginTop: 8, width: '100%' }}>
                    <Input placeholder={t('person.keepApartWith')} value={other} onChange={(e) => setOther(e.target.value)} data-testid="keep-apart-input" />
                    <Popconfirm title={t('person.keepApartConfirm')} onConfirm={() => act(() => api.post(`/v1/persons/${person.id}/keep-apart`, { other: other.trim() }), t('person.keptApart'))}>
                      <Button disabled={!other.trim()} data-testid="keep-apart">{t('person.keepApart')}</Button>
                    </Popconfirm>
                  </Space.Compact>
                )}
              </Card>
            </Col>
          </Row>
          <Row gutter={16} style={{ marginTop: 16 }}>
            <Col span={14}>
              <Card title={t('person.observations')} size="small">
                <Table<ObservationDoc> size="small" rowKey="id" dataSource={observations} pagination={{ pageSize: 10 }}
                  columns={[
                    { title: '#', dataIndex: 'id', width: 60 },
                    { title: t('common.source'), dataIndex: 'source' },
                    { title: t('common.time'), dataIndex: 'at', render: (v: string) => v.replace('T', ' ').slice(0, 19) },
                    { title: t('person.identifiers'), render: (_, o) => o.ids.map((i) => <div key={i} style={{ fontSize: 11 }}>{i}</div>) },
                    { title: t('common.state'), dataIndex: 'status', render: (s: string) => <Tag color={s === 'accepted' ? 'green' : s === 'rejected' ? 'red' : 'default'}>{s}</Tag> },
                    {
                      title: t('common.actions'),
                      render: (_, o) => session.admin && o.status === 'accepted' && (
                        <Popconfirm title={t('person.retractConfirm')} onConfirm={() => act(() => api.post(`/v1/observations/${o.id}/retract`), t('person.retract'))}>
                          <Button size="small" danger data-testid={`retract-${o.id}`}>{t('person.retract')}</Button>
                        </Popconfirm>
                      ),
                    },
                  ]} />
              </Card>
            </Col>
            <Col span={10}>
              <Card title={t('person.timeline')} size="small">
                <Timeline
                  items={history.map((e) => ({
                    color: e.kind === 'conflict' ? 'red' : e.kind === 'merged' ? 'purple' : e.kind === 'split' ? 'orange' : e.kind === 'identifier_replaced' ? 'cyan' : 'blue',
                    children: (
                      <div data-testid="timeline-item">
                        <b>{t(`person.kinds.${e.kind}`, { defaultValue: e.kind })}</b> · {e.at.replace('T', ' ').slice(0, 19)}
                        {e.others.length > 0 && <> · {e.others.join(', ')}</>}
                        {e.observation && <> · #{e.observation}</>}
                        {e.ids.length > 0 && <div style={{ fontSize: 11, color: '#888' }}>{e.ids.join(', ')}</div>}
                      </div>
                    ),
                  }))} />
              </Card>
            </Col>
          </Row>
        </div>
      )}
    </Loading>
  );
}
