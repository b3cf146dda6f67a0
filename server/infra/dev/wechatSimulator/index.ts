// The WeChat API simulator's public surface: the server factory, the app-side helper's types, and
// the encryption routine for tests that need WeChat-shaped ciphertext without a simulator.
export { createWeChatSimulator } from './server';
export type { SimulatorOptions, WeChatSimulator } from './server';
export { encryptWithSessionKey } from './appSide';
export type { AppSide, EncryptedPayload, SignedUserInfo, UserInfoProfile } from './appSide';
export type { Endpoint, FaultKind, SimulatorApp } from './state';
