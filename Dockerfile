# One image for both services: the daemon (hvdbg-debuggee) and the client (hvdbg).
FROM node:20-slim
WORKDIR /opt/hvdbg
# Manifests first so the dependency layer is cached across source edits.
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/script/package.json packages/script/
COPY packages/debuggee/package.json packages/debuggee/
COPY packages/debugger/package.json packages/debugger/
COPY e2e/package.json e2e/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.base.json ./
COPY packages ./packages
RUN npm run build && ln -s /opt/hvdbg/packages/debugger/dist/cli.js /usr/local/bin/hvdbg \
  && ln -s /opt/hvdbg/packages/debuggee/dist/main.js /usr/local/bin/hvdbg-debuggee \
  && chmod +x packages/debugger/dist/cli.js packages/debuggee/dist/main.js
EXPOSE 9871
CMD ["hvdbg-debuggee", "--listen", "0.0.0.0:9871"]
