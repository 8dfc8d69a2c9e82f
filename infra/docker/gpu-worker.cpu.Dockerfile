# syntax=docker/dockerfile:1
# latent-edge gpu-worker on CPU only, with the project's small model built in, so it runs with no
# volume and no GPU (development, CI, demos; real checkpoints on CPU are slow but work).
# Build from the repository root (amd64 or arm64: onnxruntime-node and sharp ship both):
#   docker build -f infra/docker/gpu-worker.cpu.Dockerfile -t latent-edge/gpu-worker:cpu .
# Running it and every environment variable: infra/DEPLOY.md, "GPU worker".

# The official Node image at the exact Node version the dev machines run (it is built from the
# same release tarball); npm 10.8.2 comes with it.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# ---- build: the gpu-worker's production dependencies -----------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first, so the install layer stays cached until dependencies change. npm ci checks the
# lockfile against every workspace, so edge/package.json is needed although edge is not installed.
COPY package.json package-lock.json .npmrc ./
COPY shared/package.json shared/
COPY edge/package.json edge/
COPY gpu-worker/package.json gpu-worker/
# Only the gpu-worker's dependencies (tsx included: it runs the TypeScript). onnxruntime-node's CPU
# binaries are inside the npm package; skip its CUDA download explicitly (the repo's .npmrc says the
# same, this does not depend on npm passing that setting through).
RUN --mount=type=cache,target=/root/.npm \
    ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --workspace gpu-worker \
      --include-workspace-root=false --no-audit --no-fund

# onnxruntime-node ships prebuilt binaries for every platform (~245 MB besides this one): keep this
# platform's only (linux/x64 or linux/arm64).
RUN set -eu; \
    bin=node_modules/onnxruntime-node/bin/napi-v6; \
    here="$(node -p 'process.platform + "/" + process.arch')"; \
    find "$bin" -mindepth 2 -maxdepth 2 ! -path "$bin/$here" -exec rm -rf {} +; \
    find "$bin" -mindepth 1 -type d -empty -delete; \
    test -f "$bin/$here/onnxruntime_binding.node"

# Sources last: editing code does not re-run the install. tsconfig*.json are read by tsx at run time.
COPY tsconfig.base.json tsconfig.json LICENSE ./
COPY shared/src shared/src
COPY gpu-worker/src gpu-worker/src
COPY gpu-worker/models/tiny-sd gpu-worker/models/tiny-sd
# Readable by the unprivileged user whatever the builder's umask; writable by nobody but root.
RUN chmod -R a+rX,go-w /app

# ---- runtime --------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
# node_modules (incl. workspace links @latent-edge/* -> ../../shared, ../../gpu-worker, and the
# per-workspace node_modules npm may create), sources and the small model, owned by root.
COPY --from=build /app /app
WORKDIR /app
# The base image's `node` user, numerically, so Kubernetes' runAsNonRoot can verify it. The model
# folder is root-owned, so the worker cannot write its revision sidecar there: it hashes the 9 MB
# model at each start instead (milliseconds), as it does on any read-only model folder.
USER 1000:1000

# Defaults for a container; the rest of the contract is in DEPLOY.md. GPU_SHARED_SECRET has no
# default on purpose: the worker refuses to start without it (exit 78).
# ORT_DISABLE_TELEMETRY: onnxruntime 1.30 otherwise writes a device id and a local database under
# $HOME/.cache at every start; the worker needs neither.
ENV PROVIDERS=cpu \
    HOST=0.0.0.0 \
    PORT=8788 \
    MODELS=/app/gpu-worker/models/tiny-sd \
    ORT_DISABLE_TELEMETRY=1
EXPOSE 8788

# /healthz answers as soon as the listener is up (before the models finish loading and warming;
# /readyz reports that). Node 20's global fetch, so no curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT||8788}/healthz`,{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# node is PID 1 and handles SIGTERM itself (stop taking jobs, drain for DRAIN_TIMEOUT_MS, exit 0);
# it starts no child processes, so no init is needed. Give `docker stop` more than the drain time.
ENTRYPOINT ["node", "--import", "tsx", "gpu-worker/src/main.ts"]
