import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import { Alert, App as AntApp, Button, Card, ConfigProvider, Form, Input, Layout, Menu, Space, Spin, Tag, Typography } from 'antd';
import zhCN from 'antd/locale/zh_CN';
import enUS from 'antd/locale/en_US';
import { useTranslation } from 'react-i18next';
import { api, ApiError, type Session } from './api';
import { languageKey } from './i18n';
import { NavContext, SessionContext } from './hooks';
import { parseRoute, pathOf, type Page, type Route } from './lib/route';
import { describeError } from './components';
import { Overview } from './pages/Overview';
import { Search } from './pages/Search';
import { Conflicts } from './pages/Conflicts';
import { Jobs } from './pages/Jobs';
import { Keys } from './pages/Keys';
import { Webhooks } from './pages/Webhooks';
import { Audit } from './pages/Audit';

// The person page pulls in the graph library: loaded when first needed, so the first page stays small.
const Person = lazy(() => import('./pages/Person'));

function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const { t } = useTranslation();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async ({ key }: { key: string }) => {
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await api.post<Session>('/v1/console/session', { key }));
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div style={{ display: 'flex', justifyContent: 'center', paddingTop: 120 }}>
      <Card title={t('signIn.title')} style={{ width: 460 }}>
        <Typography.Paragraph type="secondary">{t('signIn.hint')}</Typography.Paragraph>
        <Form layout="vertical" onFinish={submit}>
          <Form.Item name="key" label={t('signIn.key')} rules={[{ required: true }]}>
            <Input.Password autoFocus data-testid="signin-key" />
          </Form.Item>
          {error && <Alert type="error" showIcon message={t('signIn.failed')} description={error} style={{ marginBottom: 16 }} />}
          <Button type="primary" htmlType="submit" loading={busy} block data-testid="signin-submit">
            {t('signIn.submit')}
          </Button>
        </Form>
      </Card>
    </div>
  );
}

export function App() {
  const { t, i18n } = useTranslation();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [route, setRoute] = useState<Route>(() => parseRoute(location.pathname, location.search));

  useEffect(() => {
    api.get<Session>('/v1/console/session').then(setSession, (e) => setSession(e instanceof ApiError && e.status === 401 ? null : null));
    const onPop = () => setRoute(parseRoute(location.pathname, location.search));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const go = useCallback((r: Route) => {
    history.pushState(null, '', pathOf(r));
    setRoute(r);
    window.scrollTo(0, 0);
  }, []);

  const switchLanguage = () => {
    const next = i18n.language === 'zh' ? 'en' : 'zh';
    localStorage.setItem(languageKey, next);
    void i18n.changeLanguage(next);
    document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
  };

  const signOut = async () => {
    await api.del('/v1/console/session').catch(() => undefined);
    setSession(null);
  };

  const locale = i18n.language === 'en' ? enUS : zhCN;
  const menu: Page[] = ['overview', 'search', 'conflicts', 'jobs', 'keys', 'webhooks', 'audit'];

  let body: React.ReactNode;
  if (session === undefined) body = <Spin style={{ margin: 80 }} />;
  else if (session === null) body = <SignIn onSignedIn={setSession} />;
  else {
    const page = (() => {
      switch (route.page) {
        case 'search': return <Search initial={route.query} />;
        case 'person': return <Suspense fallback={<Spin />}><Person id={route.param!} /></Suspense>;
        case 'conflicts': return <Conflicts />;
        case 'jobs': return <Jobs />;
        case 'keys': return <Keys />;
        case 'webhooks': return <Webhooks />;
        case 'audit': return <Audit />;
        default: return <Overview />;
      }
    })();
    body = (
      <Layout style={{ minHeight: '100vh' }}>
        <Layout.Sider width={180} theme="light">
          <div style={{ padding: 16, fontWeight: 600, fontSize: 16 }}>OneId</div>
          <Menu
            mode="inline"
            selectedKeys={[route.page === 'person' ? 'search' : route.page]}
            items={menu.map((p) => ({ key: p, label: <span data-testid={`nav-${p}`}>{t(`nav.${p}`)}</span> }))}
            onClick={({ key }) => go({ page: key as Page })}
          />
        </Layout.Sider>
        <Layout>
          <Layout.Header style={{ background: '#fff', display: 'flex', justifyContent: 'space-between', alignItems: 'center', paddingInline: 24 }}>
            <Typography.Title level={4} style={{ margin: 0 }}>{t(`nav.${route.page === 'person' ? 'search' : route.page}`)}</Typography.Title>
            <Space>
              <span>{t('app.tenant')}: <b>{session.tenant}</b></span>
              {session.tiers.map((tier) => <Tag key={tier}>{tier}</Tag>)}
              {!session.admin && <Tag color="orange">{t('app.readOnly')}</Tag>}
              <Button onClick={switchLanguage} data-testid="switch-language">{t('app.language')}</Button>
              <Button onClick={signOut} data-testid="sign-out">{t('app.signOut')}</Button>
            </Space>
          </Layout.Header>
          <Layout.Content style={{ padding: 24 }}>{page}</Layout.Content>
        </Layout>
      </Layout>
    );
  }

  return (
    <ConfigProvider locale={locale}>
      <AntApp>
        <NavContext.Provider value={{ route, go }}>
          <SessionContext.Provider value={session ?? null}>{body}</SessionContext.Provider>
        </NavContext.Provider>
      </AntApp>
    </ConfigProvider>
  );
}
