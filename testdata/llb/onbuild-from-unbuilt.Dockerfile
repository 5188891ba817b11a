# A trigger's bad --from matters only in a stage that is built (as upstream).
FROM busybox:local AS base
ONBUILD COPY --from=$X /a /a

FROM base AS never-built

FROM busybox:local
RUN true
