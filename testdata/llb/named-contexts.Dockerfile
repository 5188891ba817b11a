FROM alpine AS base
RUN echo replaced by the named context, never runs

FROM app-base
COPY --from=tools /usr/bin/tool /usr/bin/tool
COPY --from=base /etc/os-release /
RUN ls /
