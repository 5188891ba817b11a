FROM busybox:local AS tools
RUN echo tool > /tool

FROM busybox:local AS base
ONBUILD COPY --from=tools /tool /tool
ONBUILD RUN --mount=from=tools,target=/t cat /t/tool

FROM base
RUN cat /tool
