import { useState } from 'react';
import { Input, List, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, query, type PersonDoc } from '../api';
import { Loading } from '../components';
import { useLoad, useNav } from '../hooks';
import { colorOf, parseIdentifier } from '../lib/ids';

interface SearchDoc { query: string; results: { person: PersonDoc; matched?: string }[] }

export function Search({ initial }: { initial?: string }) {
  const { t } = useTranslation();
  const { go } = useNav();
  const [q, setQ] = useState(initial ?? '');
  const results = useLoad(() => (q ? api.get<SearchDoc>(`/v1/persons${query({ q })}`) : Promise.resolve({ query: '', results: [] })), [q]);
  return (
    <div data-testid="search">
      <Input.Search size="large" defaultValue={q} placeholder={t('search.placeholder')} enterButton allowClear data-testid="search-input"
        onSearch={(v) => { setQ(v.trim()); history.replaceState(null, '', v.trim() ? `/console/search?q=${encodeURIComponent(v.trim())}` : '/console/search'); }} />
      {q && (
        <Loading state={results}>
          {(r) => (
            <List style={{ marginTop: 16 }} header={t('search.results')} bordered dataSource={r.results} locale={{ emptyText: t('search.empty') }}
              renderItem={(hit) => (
                <List.Item style={{ cursor: 'pointer' }} onClick={() => go({ page: 'person', param: hit.person.id })} data-testid="search-hit">
                  <List.Item.Meta
                    title={<><Typography.Link>{hit.person.id}</Typography.Link> {hit.person.profile?.nickname && <span>· {hit.person.profile.nickname}</span>}</>}
                    description={<>
                      {hit.matched && <div>{t('search.matched')}: <code>{hit.matched}</code></div>}
                      {hit.person.identifiers.slice(0, 6).map((i) => <Tag key={i} color={colorOf(parseIdentifier(i)?.type ?? '')}>{i}</Tag>)}
                      {hit.person.identifiers.length > 6 && <Tag>+{hit.person.identifiers.length - 6}</Tag>}
                    </>} />
                </List.Item>
              )} />
          )}
        </Loading>
      )}
    </div>
  );
}
