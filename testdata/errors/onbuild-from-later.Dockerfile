FROM busybox:local AS base
ONBUILD COPY --from=tools /tool /tool

FROM base AS app
RUN cat /tool

FROM busybox:local AS tools
RUN echo tool > /tool
