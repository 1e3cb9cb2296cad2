# One image for both workers and the emulator; docker-compose picks the entry point.
# Build stage: compile TypeScript (dev dependencies needed).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json ./
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies and the compiled code. The slm worker bundles the workflow
# code from dist/workflows at start.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json ./
RUN npm install --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY examples ./examples
USER node
CMD ["node", "dist/workers/slm.js"]
