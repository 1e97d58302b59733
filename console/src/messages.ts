// Chinese first: the console's operators work in Chinese by default; English is one click away.
const zh = {
  app: { title: 'OneId 控制台', signOut: '退出登录', language: 'English', tenant: '租户', readOnly: '只读' },
  nav: { overview: '概览', search: '搜索', conflicts: '冲突', jobs: '任务', keys: '密钥', webhooks: 'Webhook', audit: '审计' },
  signIn: { title: '登录 OneId 控制台', key: 'API 密钥', submit: '登录', hint: '使用管理员 API 密钥登录（oneid keys create --admin，或 oneid demo --keep-running 打印的密钥）。', failed: '登录失败' },
  common: { loading: '加载中…', error: '出错了', none: '暂无', confirm: '确定', cancel: '取消', refresh: '刷新', unavailable: '此功能在本服务器上不可用', hidden: '此密钥的数据级别不允许查看', time: '时间', person: '用户', observation: '观察', source: '来源', state: '状态', actions: '操作' },
  overview: {
    persons: '用户数', realFollowers: '真实关注者', observations: '观察数', identifiers: '标识数', openConflicts: '待处理冲突',
    webhookLag: 'Webhook 延迟（事件）', coverage: '各应用 UnionID 覆盖率', overlap: '应用间用户重叠', growth: '每日新增用户',
    tokens: '各应用 access_token 状态', runningJobs: '运行中的任务', withUnionId: '有 UnionID', app: '应用', type: '类型', expiresAt: '过期时间', noJobs: '没有运行中的任务',
    wecomContacts: '企业微信客户', channels: '渠道（海报二维码、联系我）', channel: '渠道', channelKind: '类型', owner: '所属', channelPersons: '带来的用户', becameContacts: '成为企微客户', contactsNow: '当前仍是客户',
    kinds: { qr_scene: '海报二维码', contact_way: '联系我' },
  },
  search: { placeholder: '标识（openid:wx…:o…）、值的前缀、用户 ID 或别名；手机号和昵称需要 private 级别', results: '搜索结果', matched: '匹配', empty: '没有找到用户' },
  person: {
    graph: '身份图', identifiers: '标识', aliases: '别名', profile: '资料', timeline: '事件时间线', observations: '观察记录', relationships: '关系',
    relFollow: '关注公众号', relContact: '企业微信客户', relWith: '对象', relOf: '所属', relActive: '当前', relSince: '开始', relEnded: '结束', relChannel: '渠道', relRemovedBy: '删除方',
    relYes: '是', relNo: '已结束', noRelationships: '无关系（或此密钥无 internal 级别）', relSummaryFollowing: '正在关注', relSummaryContact: '是企业微信客户',
    keptApart: '保持分开', keepApart: '保持分开…', keepApartWith: '与此用户保持分开（用户 ID）', keepApartConfirm: '确定这两个用户是不同的人，永不合并？',
    lift: '解除', retract: '撤回', retractConfirm: '撤回此观察？用户将按剩余观察重新计算，可能拆分。', erase: '删除资料',
    eraseConfirm: '删除此用户的全部私密资料（昵称、头像、手机号等）？标识保留，操作不可撤销。', notFound: '找不到此用户', noProfile: '无资料（或此密钥无 private 级别）',
    kinds: { created: '创建', linked: '关联', merged: '合并', split: '拆分', conflict: '冲突', retracted: '撤回', erased: '删除资料', identifier_replaced: '标识替换' },
    replacedBy: '已被替换为',
  },
  conflicts: {
    title: '冲突队列', open: '待处理', dismissed: '已驳回', applied: '已应用', disputes: '争议', persons: '涉及用户', inTheWay: '阻碍的观察',
    dismiss: '驳回', apply: '撤回阻碍并应用', dismissConfirm: '保持此观察为已拒绝状态并关闭冲突？', applyConfirm: '撤回阻碍的观察并应用被拒绝的观察？',
    done: '冲突已处理', summary: '{{open}} 个待处理，共 {{total}} 个',
  },
  jobs: {
    title: '任务', start: '开始回填', appid: '公众号', app: '应用', kind: '类型', progress: '进度', pages: '页', followers: '关注者', newPersons: '新用户', merges: '合并', conflicts: '冲突',
    eta: '预计剩余', error: '错误', created: '创建时间', states: { queued: '排队中', running: '运行中', succeeded: '成功', failed: '失败' }, backfill: '公众号关注者 UnionID 回填', wecomBackfill: '企业微信存量客户回填', corpApp: '企业微信应用', members: '成员', contacts: '客户关系', started: '任务已开始', oaMigration: '公众号账号迁移（changeopenid）', fromOa: '原公众号', toOa: '新公众号', startMigration: '开始迁移', wecomUpgrade: '企业微信服务商 ID 升级', startUpgrade: '开始升级', kinds: { oa_followers_backfill: '关注者回填', oa_account_migration: '公众号迁移', wecom_id_upgrade: 'ID 升级', wecom_contacts_backfill: '客户回填' },
  },
  keys: {
    title: 'API 密钥', create: '创建密钥', name: '名称', tiers: '数据级别', permissions: '权限', created: '创建时间', lastUsed: '最近使用', revoke: '吊销',
    revokeConfirm: '吊销此密钥？使用它的系统会立即失去访问。', newKey: '新密钥（只显示一次，请立即复制）', revoked: '密钥已吊销', id: 'ID',
  },
  webhooks: { title: 'Webhook', url: '地址', events: '事件', cursor: '已投递至', lag: '延迟', attempts: '重试次数', nextAttempt: '下次尝试', lastError: '最近错误', redeliver: '重新投递', redeliverFrom: '从此序号之后重新投递', deliveries: '投递记录', pending: '待投递', delivered: '已投递', redelivered: '已安排重新投递' },
  audit: { title: '审计日志', key: '密钥', action: '操作', target: '对象', status: '结果', detail: '详情' },
};

type Messages = typeof zh;

const en: Messages = {
  app: { title: 'OneId console', signOut: 'Sign out', language: '中文', tenant: 'Tenant', readOnly: 'read-only' },
  nav: { overview: 'Overview', search: 'Search', conflicts: 'Conflicts', jobs: 'Jobs', keys: 'Keys', webhooks: 'Webhooks', audit: 'Audit' },
  signIn: { title: 'Sign in to the OneId console', key: 'API key', submit: 'Sign in', hint: 'Sign in with an admin API key (oneid keys create --admin, or the key oneid demo --keep-running prints).', failed: 'Sign-in failed' },
  common: { loading: 'Loading…', error: 'Something went wrong', none: 'None', confirm: 'OK', cancel: 'Cancel', refresh: 'Refresh', unavailable: 'Not available on this hub', hidden: "This key's tiers do not allow seeing this", time: 'Time', person: 'Person', observation: 'Observation', source: 'Source', state: 'State', actions: 'Actions' },
  overview: {
    persons: 'Persons', realFollowers: 'Real followers', observations: 'Observations', identifiers: 'Identifiers', openConflicts: 'Open conflicts',
    webhookLag: 'Webhook lag (events)', coverage: 'UnionID coverage per app', overlap: 'Overlap between apps', growth: 'New persons per day',
    tokens: 'access_token state per app', runningJobs: 'Running jobs', withUnionId: 'With UnionID', app: 'App', type: 'Type', expiresAt: 'Expires at', noJobs: 'No job is running',
    wecomContacts: 'WeCom contacts', channels: 'Channels (poster QR codes, contact ways)', channel: 'Channel', channelKind: 'Kind', owner: 'Of', channelPersons: 'Persons brought', becameContacts: 'Became WeCom contacts', contactsNow: 'Contacts now',
    kinds: { qr_scene: 'Poster QR code', contact_way: 'Contact way' },
  },
  search: { placeholder: 'An identifier (openid:wx…:o…), the start of a value, a person id or alias; phones and nicknames need the private tier', results: 'Results', matched: 'Matched', empty: 'No person found' },
  person: {
    graph: 'Identity graph', identifiers: 'Identifiers', aliases: 'Aliases', profile: 'Profile', timeline: 'Timeline', observations: 'Observations', relationships: 'Relationships',
    relFollow: 'Follows OA', relContact: 'WeCom contact', relWith: 'With', relOf: 'Of', relActive: 'Now', relSince: 'Since', relEnded: 'Ended', relChannel: 'Channel', relRemovedBy: 'Removed by',
    relYes: 'yes', relNo: 'ended', noRelationships: 'No relationships (or this key lacks the internal tier)', relSummaryFollowing: 'Following', relSummaryContact: 'A WeCom contact',
    keptApart: 'Kept apart from', keepApart: 'Keep apart…', keepApartWith: 'Keep apart from this person (person id)', keepApartConfirm: 'These two persons are different people and must never merge?',
    lift: 'Lift', retract: 'Retract', retractConfirm: 'Retract this observation? The person is recomputed from what remains and may split.', erase: 'Erase profile',
    eraseConfirm: "Erase all of this person's private data (nickname, avatar, phone…)? Identifiers stay. This cannot be undone.", notFound: 'No such person', noProfile: 'No profile (or this key lacks the private tier)',
    kinds: { created: 'created', linked: 'linked', merged: 'merged', split: 'split', conflict: 'conflict', retracted: 'retracted', erased: 'erased', identifier_replaced: 'replaced' },
    replacedBy: 'replaced by',
  },
  conflicts: {
    title: 'Conflict queue', open: 'open', dismissed: 'dismissed', applied: 'applied', disputes: 'In dispute', persons: 'Persons', inTheWay: 'Standing in the way',
    dismiss: 'Dismiss', apply: 'Retract blockers and apply', dismissConfirm: 'Keep this observation rejected and close the conflict?', applyConfirm: 'Retract the observations standing in the way and apply the rejected one?',
    done: 'Conflict resolved', summary: '{{open}} open of {{total}}',
  },
  jobs: {
    title: 'Jobs', start: 'Start backfill', appid: 'Official Account', app: 'App', kind: 'Kind', progress: 'Progress', pages: 'pages', followers: 'followers', newPersons: 'new persons', merges: 'merges', conflicts: 'conflicts',
    eta: 'ETA', error: 'Error', created: 'Created', states: { queued: 'queued', running: 'running', succeeded: 'succeeded', failed: 'failed' }, backfill: 'OA followers unionid backfill', wecomBackfill: 'WeCom existing-customer backfill', corpApp: 'WeCom app', members: 'members', contacts: 'customer contacts', started: 'Job started', oaMigration: 'OA account migration (changeopenid)', fromOa: 'Old account', toOa: 'New account', startMigration: 'Start migration', wecomUpgrade: 'WeCom provider id upgrade', startUpgrade: 'Start upgrade', kinds: { oa_followers_backfill: 'followers backfill', oa_account_migration: 'OA migration', wecom_id_upgrade: 'id upgrade', wecom_contacts_backfill: 'customer backfill' },
  },
  keys: {
    title: 'API keys', create: 'Create key', name: 'Name', tiers: 'Tiers', permissions: 'Permissions', created: 'Created', lastUsed: 'Last used', revoke: 'Revoke',
    revokeConfirm: 'Revoke this key? Systems using it lose access at once.', newKey: 'New key (shown once: copy it now)', revoked: 'Key revoked', id: 'Id',
  },
  webhooks: { title: 'Webhooks', url: 'URL', events: 'Events', cursor: 'Delivered up to', lag: 'Lag', attempts: 'Attempts', nextAttempt: 'Next attempt', lastError: 'Last error', redeliver: 'Redeliver', redeliverFrom: 'Redeliver everything after sequence', deliveries: 'Deliveries', pending: 'pending', delivered: 'delivered', redelivered: 'Redelivery scheduled' },
  audit: { title: 'Audit log', key: 'Key', action: 'Action', target: 'Target', status: 'Outcome', detail: 'Detail' },
};

export const resources = { zh: { translation: zh }, en: { translation: en } };

/** Every dotted key of a message tree, for checking that both languages say everything. */
export function keysOf(tree: object, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([k, v]) => (typeof v === 'object' && v !== null ? keysOf(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
}

export { zh, en };
