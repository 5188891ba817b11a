# INCLUDE: stages from two included files, grouped under each file's name.
FROM busybox:local AS vendor-base
RUN echo base > /base

INCLUDE include/toolchain.inc

FROM toolchain AS build
RUN echo app > /app

INCLUDE include/checks.inc

FROM busybox:local
COPY --from=build /app /app
COPY --from=unit /unit /reports/unit
COPY --from=integration /etc/hostname /reports/integration
