// The server's tRPC endpoint. On a phone it must be an https domain listed in the mini program's
// "request legal domains"; for local development, tick "Do not verify request domains" in the
// developer tools and run the server with `npm start`.
export const url = 'http://127.0.0.1:3000/trpc';
