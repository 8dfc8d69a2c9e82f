# syntax=docker/dockerfile:1
# latent-edge gpu-worker on NVIDIA GPUs (onnxruntime-node's CUDA execution provider, CPU fallback).
# Build from the repository root (linux/amd64 only: onnxruntime-node ships its CUDA EP for linux/x64):
#   docker build -f infra/docker/gpu-worker.cuda.Dockerfile -t latent-edge/gpu-worker:cuda .
# Running it, every environment variable, and the model volume: infra/DEPLOY.md, "GPU worker".

# onnxruntime 1.30's CUDA 12 EP needs a CUDA 12.x runtime with cuDNN 9.x (any 12.x minor works, by
# CUDA minor-version compatibility; cuDNN 8 builds are not compatible with 9). The `runtime` flavour
# carries cuBLAS/cuFFT/cuRAND + cuDNN 9 and no compilers; the host only provides the driver.
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04
# Node.js 20 (what every dev and CI machine runs) from the official tarball, exact version and
# SHA-256 pinned here. Not NodeSource: its apt repo serves only the newest 20.x, so it cannot pin.
ARG NODE_VERSION=20.20.2
ARG NODE_SHA256=df770b2a6f130ed8627c9782c988fda9669fa23898329a61a871e32f965e007d

# ---- build: Node, the gpu-worker's production dependencies, the CUDA EP --------------------------
# Built on the runtime image itself: no second base to pull, and the check below sees the very
# CUDA/cuDNN libraries the worker will load.
FROM ${CUDA_IMAGE} AS build
ARG NODE_VERSION
ARG NODE_SHA256
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl xz-utils \
 && rm -rf /var/lib/apt/lists/*
RUN curl -fsSLo /tmp/node.tar.xz "https://nodejs.org/dist/v${NODE_VERSION}/node-v${NODE_VERSION}-linux-x64.tar.xz" \
 && echo "${NODE_SHA256}  /tmp/node.tar.xz" | sha256sum -c - \
 && mkdir /opt/node \
 && tar -xJf /tmp/node.tar.xz -C /opt/node --strip-components=1 --no-same-owner \
 && rm /tmp/node.tar.xz
ENV PATH=/opt/node/bin:$PATH

WORKDIR /app
# Manifests first, so the install layer stays cached until dependencies change. npm ci checks the
# lockfile against every workspace, so edge/package.json is needed although edge is not installed.
COPY package.json package-lock.json .npmrc ./
COPY shared/package.json shared/
COPY edge/package.json edge/
COPY gpu-worker/package.json gpu-worker/
# Only the gpu-worker's dependencies (tsx included: it runs the TypeScript), nothing of the root's
# dev tooling. The repo's .npmrc sets onnxruntime-node-install=skip for offline dev machines;
# onnxruntime-node's script/install.js reads ONNXRUNTIME_NODE_INSTALL before that npm setting, and
# `cuda12` makes its postinstall fetch libonnxruntime_providers_{cuda,shared,tensorrt}.so from the
# Microsoft.ML.OnnxRuntime.Gpu.Linux NuGet package of the same version (needs HTTPS to
# api.nuget.org). Behind a proxy: --build-arg HTTPS_PROXY=… serves curl and npm, and the NuGet
# download goes through global-agent, which reads GLOBAL_AGENT_HTTPS_PROXY (declared below).
# allow-scripts: npm 11 gates dependency install scripts on an allowScripts policy (11.19 still runs
# unlisted ones with a warning; its docs say a later release blocks them). A user-level .npmrc is
# where npm accepts it for a project install (--allow-scripts on the command line is an error
# there). npm 10.8.2, bundled with Node 20, ignores the line and runs the scripts.
ARG GLOBAL_AGENT_HTTPS_PROXY
RUN --mount=type=cache,target=/root/.npm \
    printf 'allow-scripts=onnxruntime-node,esbuild\n' >> /root/.npmrc \
 && ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci --omit=dev --workspace gpu-worker \
      --include-workspace-root=false --no-audit --no-fund

# onnxruntime-node ships prebuilt binaries for every platform (~245 MB besides linux/x64): keep
# linux/x64 only, and drop the TensorRT EP (the worker never asks for it; it would need TensorRT).
# Then fail here, not at the first job, if the CUDA EP is missing (install script skipped) or links
# a library this base lacks (e.g. a CUDA 13 build on a CUDA 12 base). libcuda.so.1 is the host
# driver's, mounted at run time by the NVIDIA container toolkit, so it may be absent here.
RUN set -eu; \
    bin=node_modules/onnxruntime-node/bin/napi-v6; \
    find "$bin" -mindepth 2 -maxdepth 2 ! -path "$bin/linux/x64" -exec rm -rf {} +; \
    find "$bin" -mindepth 1 -type d -empty -delete; \
    rm -f "$bin/linux/x64/libonnxruntime_providers_tensorrt.so"; \
    ep="$bin/linux/x64/libonnxruntime_providers_cuda.so"; \
    test -f "$bin/linux/x64/onnxruntime_binding.node"; \
    test -f "$ep" || { echo "onnxruntime-node did not install its CUDA EP ($ep)" >&2; exit 1; }; \
    ldd "$ep" | grep -E 'cudart|cublas|cudnn|cufft|curand' || true; \
    missing="$(ldd "$ep" | grep 'not found' | grep -v 'libcuda\.so' || true)"; \
    if [ -n "$missing" ]; then \
      echo "the CUDA EP needs libraries this base image lacks (pick a matching CUDA_IMAGE):" >&2; \
      echo "$missing" >&2; exit 1; \
    fi

# Sources last: editing code does not re-run the install. tsconfig*.json are read by tsx at run time.
COPY tsconfig.base.json tsconfig.json LICENSE ./
COPY shared/src shared/src
COPY gpu-worker/src gpu-worker/src
# The project's 9 MB model, for a GPU smoke test without a volume (MODELS=/app/gpu-worker/models/tiny-sd).
COPY gpu-worker/models/tiny-sd gpu-worker/models/tiny-sd
# Readable by the unprivileged user whatever the builder's umask; writable by nobody but root.
RUN chmod -R a+rX,go-w /app

# ---- runtime --------------------------------------------------------------------------------------
FROM ${CUDA_IMAGE}
RUN groupadd --system --gid 10001 worker \
 && useradd --system --uid 10001 --gid worker --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin worker
# Just the node binary: npm is not needed at run time.
COPY --from=build /opt/node/bin/node /usr/local/bin/node
# node_modules (incl. workspace links @latent-edge/* -> ../../shared, ../../gpu-worker, and the
# per-workspace node_modules npm may create), sources and the small model, owned by root.
COPY --from=build /app /app
WORKDIR /app
# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001

# Defaults for a container; the rest of the contract is in DEPLOY.md. GPU_SHARED_SECRET has no
# default on purpose: the worker refuses to start without it (exit 78).
# ORT_DISABLE_TELEMETRY: onnxruntime 1.30 otherwise keeps a device id and a local database under
# $HOME/.cache (unwritable here, so it warns at every start); the worker does not need either.
# MODELS=/models serves the mounted folder under the id "models"; name it with id=path
# (e.g. MODELS=sd15=/models) so the edge's model id is meaningful.
ENV PROVIDERS=cuda,cpu \
    HOST=0.0.0.0 \
    PORT=8788 \
    MODELS=/models \
    ORT_DISABLE_TELEMETRY=1
EXPOSE 8788

# /healthz answers as soon as the listener is up (before the models finish loading and warming;
# /readyz reports that). Node 20's global fetch, so no curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT||8788}/healthz`,{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# node is PID 1 and handles SIGTERM itself (stop taking jobs, drain for DRAIN_TIMEOUT_MS, exit 0);
# it starts no child processes, so no init is needed. Give `docker stop` more than the drain time.
ENTRYPOINT ["node", "--import", "tsx", "gpu-worker/src/main.ts"]
