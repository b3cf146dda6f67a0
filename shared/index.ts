export * from './reasons';
export * from './errors';
export * from './schemas/user';
export * from './schemas/auth';
export * from './schemas/wechatData';
export * from './schemas/session';
export * from './schemas/profile';
export * from './schemas/admin';
