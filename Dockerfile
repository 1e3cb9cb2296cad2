# One image for both workers; docker-compose picks the entry point.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm install --no-save typescript@~5.9.3 @types/node@20 @types/jest
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
COPY examples ./examples
RUN npx tsc -p tsconfig.build.json && cp -r src/db/migrations dist/db/migrations
# The slm worker bundles workflow code from source at start; keep src/ in the image.
ENV NODE_ENV=production
USER node
CMD ["node", "dist/workers/slm.js"]
