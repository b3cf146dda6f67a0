import type { AvatarUrls } from '../avatars/avatarUrls';
import type { Database } from '../db/connection';
import type { SecretBox } from '../secrets/secretBox';
import type { AccessTokenManager } from '../wechat/accessTokenManager';
import type { WeChatHttpOptions } from '../wechat/requestJson';
import type { ServerApiAccess } from '../wechat/serverApiAccess';
import type { UserStore } from '../data/users';
import type { WeChatApps } from './wechatApps';

/** What the after-login WeChat features (phone, profile, session check) need. */
export interface PlatformDeps {
  db: Database;
  box: SecretBox;
  apps: WeChatApps;
  http: WeChatHttpOptions;
  accessTokens: AccessTokenManager;
  /** How server API calls are authorised: the access token, or Cloud Hosting's open API service. */
  serverApi: ServerApiAccess;
  /** WeChat Cloud Hosting: logins have no session_key; the gateway may hand over open data (cloudID). */
  cloudHosting: boolean;
  users: UserStore;
  watermarkMaxAgeS: number;
  avatarUrls: AvatarUrls;
  now: () => Date;
}

/** The user a procedure acts for: who, and in which mini program. */
export interface Actor {
  userId: string;
  appId: string;
  openId: string;
}
