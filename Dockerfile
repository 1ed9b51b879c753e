# Dockerfile — the dbwarden broker image: compiled in a build stage, run as the unprivileged `node` user.
#   docker build -t dbwarden:local .
#   docker run --rm dbwarden:local token new          # any CLI command works the same way
#   docker run -v $PWD/dbwarden.yaml:/etc/dbwarden/dbwarden.yaml:ro -p 7432:7432 -p 7080:7080 dbwarden:local

FROM node:20-slim AS build
WORKDIR /app
# better-sqlite3 downloads a prebuilt binary when one exists for this node/glibc; the toolchain is the fallback.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The shipped rule sets: `dbwarden rules check` defaults to them, and configs may point at /app/rules.
COPY rules ./rules
COPY dbwarden.example.yaml ./
# State (embedded store, audit file, generated TLS pair) lives on a volume owned by the runtime user,
# so the broker never needs root and a compromised process cannot rewrite the image.
RUN mkdir -p /var/lib/dbwarden /etc/dbwarden && chown node:node /var/lib/dbwarden
VOLUME ["/var/lib/dbwarden"]
USER node
# 7432 PostgreSQL clients, 7306 MySQL clients, 7080 admin API and /metrics
EXPOSE 7432 7306 7080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:7080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/bin.js"]
CMD ["serve", "--config", "/etc/dbwarden/dbwarden.yaml"]
