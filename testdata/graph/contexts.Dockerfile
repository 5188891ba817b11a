# --target and named contexts: `base` is an image replaced by a context, `assets` is a
# stage a context replaces, and the stages after the target are not needed.
FROM base AS toolchain
RUN echo toolchain > /toolchain

FROM busybox:local AS assets
RUN echo never built > /assets

FROM toolchain AS app
COPY --from=assets / /assets
RUN echo app > /app

FROM app AS test
RUN echo test

FROM scratch AS release
COPY --from=app /app /app
