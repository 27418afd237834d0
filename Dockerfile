# syntax=docker/dockerfile:1
# SPORE Gateway container image (docs/deploy.md).
#   docker build -t spore-gateway .
#   docker run --network host -v spore-data:/data spore-gateway
# Host networking: the nodes find the gateway by UDP broadcast on the LAN (port 4210), which a
# bridged container network does not pass on.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: every dependency (TypeScript, Vite), the compiled gateway, and the runtime layout
FROM ${NODE_IMAGE} AS build
# better-sqlite3 compiles its addon when no prebuilt binary matches: python3, make and g++.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# The checkout's .npmrc points node-gyp at Debian's headers (/usr); the image's Node is in /usr/local.
ENV npm_config_nodedir=/usr/local
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
COPY tsconfig.json tsconfig.build.json README.md ./
COPY scripts ./scripts
COPY src ./src
COPY emulator ./emulator
COPY web ./web
# npm ci runs `prepare`, the build: dist/ (gateway, emulator, web UI).
RUN npm ci
# /app = package.json + `npm ci --omit=dev` + dist/ (the same script test/packaging runs).
RUN node scripts/stage-runtime.mjs /app

# ---- runtime: production dependencies and dist/ only, as a non-root user
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    SPORE_DATA_DIR=/data \
    SPORE_HTTP_PORT=3001
COPY --from=build /app /app
WORKDIR /app
# The node image's unprivileged user (uid 1000) owns the state, not the code.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# HTTP + WebSocket + web UI; UDP discovery (SPORE heartbeats, CLUSTER_DISCOVERY probes).
EXPOSE 3001/tcp 4210/udp
# The gateway stops cleanly on SIGTERM (buffers flushed, MQTT will/offline state published).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/app/dist/src/cli/healthcheck-main.js"]
# node itself is PID 1 (exec form, no shell, no npm/npx: they do not pass SIGTERM on).
ENTRYPOINT ["node", "--max-semi-space-size=1", "--heap-growing-percent=20", "--no-concurrent-recompilation", "/app/dist/src/cli/gateway-main.js"]
CMD []
