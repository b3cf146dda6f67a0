# syntax=docker/dockerfile:1
# The production image: `docker build -t wx-login-backend .`, then run it with the environment
# of .env.example (MONGODB_URI, JWT_SECRET, WECHAT_APP_ID ... are required: it refuses to start
# without them). test/container.e2e.test.ts replays the runtime stage below without a container
# engine (its COPY, RUN, ENV, USER, HEALTHCHECK and CMD lines): keep the two in step.

ARG NODE_VERSION=20.19

# Build stage: every dependency, the sources, one bundle (dist/server/main.mjs).
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Runtime stage: production dependencies and dist/ only, owned by root and read-only to the
# server's unprivileged user; nothing is written to the working directory in production.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
USER 65534:65534
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1: SIGTERM from `docker stop` reaches the server, which drains and exits 0.
CMD ["node", "dist/server/main.mjs"]
