FROM busybox:local AS base
ONBUILD COPY --from=$X /a /a

FROM base
RUN true
