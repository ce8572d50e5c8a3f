# Production image: compiled JavaScript, production dependencies only, non-root.
# NODE_IMAGE is the official image; a machine that cannot pull passes a stand-in built from its own node
# (scripts/container/node-base-image.sh, see README "Containers").
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM ${NODE_IMAGE}
# ROLE picks what the process runs (api | worker | scheduler | all) and which port the healthcheck asks:
# the api on PORT, a worker or scheduler on HEALTH_PORT. Set ROLE rather than passing the role as an argument,
# so that the healthcheck follows it.
ENV NODE_ENV=production ROLE=api PORT=8080 HEALTH_PORT=8081 DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY configs ./configs
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080 8081
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "dist/cli/healthcheck.js"]
ENTRYPOINT ["node", "dist/main.js"]
