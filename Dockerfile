# Production image: compiled JavaScript, production dependencies only, non-root.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=8080 DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY configs ./configs
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
# The role comes from ROLE or the command: `node dist/main.js api|worker|scheduler|all`.
ENTRYPOINT ["node", "dist/main.js"]
CMD ["api"]
