# syntax=docker/dockerfile:1.7
# imagegate container image for `docker build .`: build with the full Node toolchain, run on
# Chainguard's minimal, signed Node image pinned by digest. Same contract as the image that
# `npm run image` builds without Docker (scripts/image/definition.ts): user 65532:65532, entrypoint
# /usr/bin/node /app/dist/src/cli/main.js, cmd serve, port 8443, the OCI labels.
#
# BASE_DIGEST default: cgr.dev/chainguard/node:latest as pinned (with the note "node:24.1.0") in a
# public Dockerfile on GitHub, found through a code search in December 2026; it could not be pulled
# or verified from the machine this was written on (no registry access). Refresh and verify it with
#   crane digest cgr.dev/chainguard/node:latest
#   cosign verify cgr.dev/chainguard/node@sha256:... \
#     --certificate-oidc-issuer https://token.actions.githubusercontent.com \
#     --certificate-identity https://github.com/chainguard-images/images/.github/workflows/release.yaml@refs/heads/main
# and override it with --build-arg BASE_DIGEST=sha256:... (see docs/operations.md).

ARG BUILD_IMAGE=docker.io/library/node:24-bookworm
ARG BASE_IMAGE=cgr.dev/chainguard/node
ARG BASE_DIGEST=sha256:d7f295566478c9f8b8927a077d05eacd8261ca8e0caa58f7f42c7baac98611fc

# --- build: compile TypeScript to dist/ ---
FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
RUN npm run build

# --- prod-deps: production dependencies only ---
FROM ${BUILD_IMAGE} AS prod-deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime: compiled JS + production node_modules on the pinned base, as a non-root user ---
FROM ${BASE_IMAGE}@${BASE_DIGEST} AS runtime
ARG BASE_IMAGE
ARG BASE_DIGEST
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
LABEL org.opencontainers.image.title="imagegate" \
      org.opencontainers.image.description="Kubernetes admission webhook: admit pods only when every image is signed, small enough and built on an approved base." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/imagegate/imagegate" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.opencontainers.image.base.digest="${BASE_DIGEST}"
WORKDIR /app
# Files stay owned by root and read-only for the runtime user.
COPY --from=prod-deps /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/package.json ./package.json
# MALLOC_MMAP_THRESHOLD_: registry answers of MiBs are mmapped and returned when freed, not kept in
# glibc's main heap (docs/security.md, "Memory"; the chart's mallocMmapThreshold sets the same).
ENV NODE_ENV=production \
    IMAGEGATE_CACHE_DIR=/var/cache/imagegate \
    MALLOC_MMAP_THRESHOLD_=131072
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/usr/bin/node", "/app/dist/src/cli/main.js"]
CMD ["serve"]
