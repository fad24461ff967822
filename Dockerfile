# tg-acp image: `docker compose up -d --build` (see README "Docker and compose").
#
# The ACP agent is installed into the runtime image by the AGENT_INSTALL build argument (a shell command
# run as root), e.g.:
#   docker compose build --build-arg AGENT_INSTALL="npm install -g @agentclientprotocol/codex-acp"
# and ACP_AGENT_COMMAND in .env names its command. Set AGENT_INSTALL="" for an image without an agent.
ARG NODE_IMAGE=node:22-bookworm-slim

# --- manifest: package.json with only what npm ci reads, so that a change to its scripts or
# description keeps the cached npm ci (minutes, better-sqlite3 compiles from source) ---
FROM ${NODE_IMAGE} AS manifest
WORKDIR /manifest
COPY package.json ./
RUN node -e 'const p = require("./package.json"); const keys = ["name", "version", "type", "engines", "dependencies", "devDependencies", "optionalDependencies", "peerDependencies", "overrides"]; require("fs").writeFileSync("deps.json", JSON.stringify(Object.fromEntries(keys.filter((k) => k in p).map((k) => [k, p[k]])), null, 2));'

# --- build: compile TypeScript, build better-sqlite3 from source, keep production dependencies only ---
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=manifest /manifest/deps.json ./package.json
COPY package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY package.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# The addon is all better-sqlite3 needs at run time: its SQLite sources and object files (~25 MB) go.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund \
 && cd node_modules/better-sqlite3 \
 && mv build/Release/better_sqlite3.node . \
 && rm -rf build deps src \
 && mkdir -p build/Release \
 && mv better_sqlite3.node build/Release/

# --- runtime ---
FROM ${NODE_IMAGE} AS runtime
# Tools agents expect in a workspace (git) and system CAs for agents that are native binaries.
ARG RUNTIME_PACKAGES="ca-certificates git"
RUN apt-get update \
 && apt-get install -y --no-install-recommends ${RUNTIME_PACKAGES} \
 && rm -rf /var/lib/apt/lists/*
ARG AGENT_INSTALL="npm install -g @agentclientprotocol/claude-agent-acp"
RUN if [ -n "$AGENT_INSTALL" ]; then sh -c "$AGENT_INSTALL" && npm cache clean --force; fi

WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY drizzle ./drizzle

# Everything that must survive a new container lives on the /data volume: the database, the
# workspaces, and HOME, where agents keep their logins and their own session history.
RUN mkdir -p /data/workspaces /data/home \
 && chown -R node:node /data \
 && chmod 700 /data /data/home
ENV NODE_ENV=production \
    HOME=/data/home \
    DATABASE_PATH=/data/tg-acp.db \
    WORKSPACE_BASE_PATH=/data/workspaces \
    HOST=0.0.0.0 \
    PORT=8080
VOLUME /data
USER node
EXPOSE 8080
# Healthy within seconds of start: a probe every 2 s from the start (Debian's 20.10 engine rejects
# Docker 25's --start-interval). Each probe costs the engine ~70 ms of CPU (an exec through runc), so
# the probe itself is bash alone (builtins and /dev/tcp, ~5 ms); `node -e "fetch(...)"` adds ~140 ms.
HEALTHCHECK --interval=2s --timeout=2s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PORT:-8080} && printf 'GET /healthz HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' >&3 && read -r -t 2 status <&3 && [[ $status == 'HTTP/1.'?' 200 '* ]]"]
CMD ["node", "dist/main.js"]
