/** The human-readable output of scripts/admin.ts: aligned tables and key/value lists. */
import type { AdminCountsOutput, AdminListUsersOutput, AdminUserDetail, AdminUserView } from '../shared';

/**
 * Text from users (nicknames) goes to a terminal: control characters, which could be escape
 * sequences, are shown as '?'.
 */
const safe = (text: string) => text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

/** Columns a terminal gives a string: CJK and most emoji take two. */
function width(text: string): number {
  let w = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const wide =
      (cp >= 0x1100 && cp <= 0x115f) ||
      (cp >= 0x2e80 && cp <= 0xa4cf) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6) ||
      cp >= 0x1f300;
    w += wide ? 2 : 1;
  }
  return w;
}

const pad = (text: string, columns: number) => text + ' '.repeat(Math.max(0, columns - width(text)));

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i]!)).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** UTC, to the second. */
const time = (d: Date | null) => (d ? `${d.toISOString().slice(0, 19).replace('T', ' ')}Z` : '-');
const text = (s: string | null) => (s === null || s === '' ? '-' : safe(s));
const phone = (p: AdminUserView['phone']) => (p ? `+${p.countryCode} ${p.purePhoneNumber}` : '-');

export function printUsers(result: AdminListUsersOutput): void {
  const pages = Math.max(1, Math.ceil(result.total / result.pageSize));
  if (result.items.length === 0) {
    console.log(`no users on page ${result.page} (${result.total} match)`);
    return;
  }
  // The column of scheduled deletions only when one is listed (users --status deletion_pending).
  const deletions = result.items.some((u) => u.deletionScheduledFor !== null);
  const headers = ['ID', 'OPENID', 'APP', 'STATUS', 'NICKNAME', 'PHONE', 'CREATED', 'LAST LOGIN', ...(deletions ? ['DELETION AT'] : [])];
  const rows = result.items.map((u) => [
    u.id,
    safe(u.openId),
    text(u.registeredAppId),
    u.status,
    text(u.nickName),
    phone(u.phone),
    time(u.createdAt),
    time(u.lastLoginAt),
    ...(deletions ? [time(u.deletionScheduledFor)] : []),
  ]);
  console.log(table(headers, rows));
  console.log(`\npage ${result.page} of ${pages}, ${result.total} user(s) in all`);
}

export function printUser(user: AdminUserDetail): void {
  const fields: [string, string][] = [
    ['id', user.id],
    ['openId', safe(user.openId)],
    ['registeredAppId', text(user.registeredAppId)],
    ['unionId', text(user.unionId)],
    ['nickName', text(user.nickName)],
    ['status', user.status],
    ['phone', phone(user.phone)],
    ['createdAt', time(user.createdAt)],
    ['lastLoginAt', time(user.lastLoginAt)],
    ['liveSessions', String(user.liveSessions)],
    ...(user.deletionScheduledFor ? ([['deletionScheduledFor', time(user.deletionScheduledFor)]] as [string, string][]) : []),
  ];
  console.log(table(['FIELD', 'VALUE'], fields));
  console.log('\nIdentities:');
  console.log(user.identities.length ? table(['APP', 'OPENID'], user.identities.map((i) => [safe(i.appId), safe(i.openId)])) : '(none)');
}

export function printCounts(counts: AdminCountsOutput): void {
  const rows: [string, string][] = [
    ['users', String(counts.users)],
    ['active', String(counts.active)],
    ['banned', String(counts.banned)],
    ['registered in the last 24 h', String(counts.registeredLast24h)],
    ['live sessions', String(counts.liveSessions)],
  ];
  console.log(table(['COUNT', 'VALUE'], rows));
  const apps = Object.entries(counts.byApp);
  console.log('\nUsers per app:');
  console.log(apps.length ? table(['APP', 'USERS'], apps.map(([app, n]) => [safe(app), String(n)])) : '(none)');
}
